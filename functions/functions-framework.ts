/**
 * Source for @google-cloud/functions-framework's own CLI, from the same definitions and settings as
 * functions/main.ts:
 *   node --import tsx node_modules/.bin/functions-framework \
 *     --source=functions/functions-framework.ts --target=trade-writer --signature-type=cloudevent
 * The deployed functions run behind the fastify host (functions/main.ts), whose status codes carry the
 * retry contract; this entry keeps them runnable on the framework (e.g. Cloud Run functions) unchanged.
 */
import { registerDefinedFunction } from '../shared/host/functions-framework.ts';
import { definitionOf } from './definitions.ts';

/** The framework reads --target (or FUNCTION_TARGET) itself; the same name picks the definition here. */
function target(): string | undefined {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--target=')) return a.slice('--target='.length);
    if (a === '--target') return argv[i + 1];
  }
  return process.env.FUNCTION_TARGET;
}

registerDefinedFunction(definitionOf(target()));
