import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keepLogs } from './work-dir.ts';

let base: string;
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('a pipeline run ends its work dir', () => {
  it('keeps the logs beside the results and removes the rest', () => {
    base = mkdtempSync(join(tmpdir(), 'work-dir-'));
    const work = join(base, 'mp-bench-x');
    for (const d of ['logs', 'manifests', 'bridge-spool']) mkdirSync(join(work, d), { recursive: true });
    writeFileSync(join(work, 'logs', 'bridge.log'), '{"msg":"up"}\n');
    writeFileSync(join(work, 'bridge-spool', 'seg-1'), 'x');
    const into = join(base, 'results', 'pipeline-logs-t');
    expect(keepLogs(work, into)).toBe(into);
    expect(readFileSync(join(into, 'bridge.log'), 'utf8')).toBe('{"msg":"up"}\n');
    expect(existsSync(work)).toBe(false);
  });

  it('removes a work dir that has no logs, and says none were kept', () => {
    base = mkdtempSync(join(tmpdir(), 'work-dir-'));
    const work = join(base, 'mp-bench-y');
    mkdirSync(join(work, 'manifests'), { recursive: true });
    expect(keepLogs(work, join(base, 'logs'))).toBeUndefined();
    expect(existsSync(work)).toBe(false);
    expect(existsSync(join(base, 'logs'))).toBe(false);
  });
});
