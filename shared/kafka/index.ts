export { createKafkaClient } from './kafkajs.ts';
export type * from './types.ts';
