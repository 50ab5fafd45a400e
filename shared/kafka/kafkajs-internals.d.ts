// kafkajs ships no types for its protocol error table; shared/kafka/kafkajs.ts reads which answers it retries.
declare module 'kafkajs/src/protocol/error.js' {
  const protocolErrors: {
    readonly errorCodes: readonly { readonly message: string; readonly retriable: boolean }[];
  };
  export default protocolErrors;
}

// kafkajs's per-connection request queue, whose idle timer loop shared/kafka/kafkajs-request-queue.ts ends.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  class RequestQueue {
    constructor(opts: {
      instrumentationEmitter?: unknown;
      maxInFlightRequests?: number | null;
      requestTimeout?: number;
      enforceRequestTimeout?: boolean;
      clientId?: string;
      broker?: string;
      logger: unknown;
      isConnected?: () => boolean;
    });
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
    checkPendingRequests(): void;
    scheduleCheckPendingRequests(): void;
    push(request: unknown): void;
    destroy(): void;
  }
  export default RequestQueue;
}
