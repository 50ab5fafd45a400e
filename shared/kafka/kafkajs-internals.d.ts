// kafkajs ships no types for its protocol error table; shared/kafka/kafkajs.ts reads which answers it retries.
declare module 'kafkajs/src/protocol/error.js' {
  const protocolErrors: {
    readonly errorCodes: readonly { readonly message: string; readonly retriable: boolean }[];
  };
  export default protocolErrors;
}
