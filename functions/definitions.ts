import type { DefinedFunction } from '../shared/host/define.ts';
import minuteFinalizer from './minute-finalizer/function.ts';
import minuteWindow from './minute-window/function.ts';
import tradeWriter from './trade-writer/function.ts';

/** Every event function, by the name its Knative Service, its image and the dispatcher's sinks use. */
export const FUNCTIONS = {
  'trade-writer': tradeWriter,
  'minute-window': minuteWindow,
  'minute-finalizer': minuteFinalizer,
} as const satisfies Record<string, DefinedFunction>;
export type FunctionName = keyof typeof FUNCTIONS;

export function isFunctionName(name: string | undefined): name is FunctionName {
  return name !== undefined && Object.hasOwn(FUNCTIONS, name);
}

/** The definition of `name`, or a one-line error naming the known functions. */
export function definitionOf(name: string | undefined): DefinedFunction {
  if (!isFunctionName(name))
    throw new Error(`unknown function ${JSON.stringify(name)}; one of ${Object.keys(FUNCTIONS).join(', ')}`);
  return FUNCTIONS[name];
}
