import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// Vitest and esbuild resolve CommonJS named exports that Node's own ESM loader does not; the scripts of
// `npm test`/`npm start` load this adapter through Node itself, so load it the same way here.
it('the Kafka adapter loads under plain Node ESM, as the setup scripts and npm start load it', () => {
  const adapter = fileURLToPath(new URL('./index.ts', import.meta.url));
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(adapter)});`],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.stderr).not.toMatch(/SyntaxError/);
  expect(r.status).toBe(0);
});
