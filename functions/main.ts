/**
 * The one process entry of the event functions: `node --import tsx functions/main.ts <name>` runs the
 * function `<name>` (functions/<name>/function.ts) behind the fastify host. Each function's image is this file
 * bundled with its name built in as FUNCTION_NAME (dev/deploy/bundle.ts), so the container runs `main.js`.
 */
import { runFunction } from '../shared/host/process.ts';
import { definitionOf } from './definitions.ts';

const name = process.argv[2] ?? process.env.FUNCTION_NAME;
let def: ReturnType<typeof definitionOf>;
try {
  def = definitionOf(name);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
await runFunction(def);
