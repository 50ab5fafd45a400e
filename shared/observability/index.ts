export * from './catalogue.ts';
export * from './logger.ts';
export * from './metrics.ts';
