export * from './classify.ts';
export * from './functions-framework.ts';
export * from './server.ts';
export type * from './types.ts';
