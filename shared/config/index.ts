export * from './env.ts';
export * as p from './parsers.ts';
