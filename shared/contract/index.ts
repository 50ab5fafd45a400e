export * from './avro.ts';
export * from './event.ts';
export type * from './types.ts';
export * from './validate.ts';
