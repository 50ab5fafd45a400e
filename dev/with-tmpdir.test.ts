import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'with-tmpdir.sh');
let base: string;

afterEach(() => rmSync(base, { recursive: true, force: true }));

/** A fresh parent directory, so "nothing left" is checkable. */
function newBase(): string {
  base = mkdtempSync(join(tmpdir(), 'with-tmpdir-'));
  return base;
}

describe('dev/with-tmpdir.sh (npm test runs vitest under it)', () => {
  it('gives the command its own TMPDIR, removes it with what was left in it, and keeps the exit status', () => {
    const parent = newBase();
    const r = spawnSync(
      'sh',
      [script, 'market-test', 'sh', '-c', 'd=$(mktemp -d); touch "$d/left-behind"; echo "$TMPDIR"; exit 3'],
      { env: { ...process.env, TMPDIR: parent }, encoding: 'utf8' },
    );
    expect(r.status).toBe(3);
    const used = r.stdout.trim();
    expect(used.startsWith(join(parent, 'market-test.'))).toBe(true);
    expect(existsSync(used)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('removes the directory when the run is stopped with SIGTERM', async () => {
    const parent = newBase();
    const child = spawn(
      'sh',
      [script, 'market-test', 'sh', '-c', 'touch "$TMPDIR/x"; echo "$TMPDIR"; sleep 30'],
      {
        env: { ...process.env, TMPDIR: parent },
        detached: true,
      },
    );
    const used = await new Promise<string>((resolve) =>
      child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())),
    );
    expect(existsSync(join(used, 'x'))).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The whole group, as a terminal's Ctrl-C or a CI timeout stops it.
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe(143);
    expect(existsSync(used)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });
});
