import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareCassandra } from './cassandra.ts';
import { loadRuntimeConfig } from './config.ts';
import { runtimePaths } from './paths.ts';

describe("the runtime's Cassandra JVM", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-cassandra-args-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const args = (env: Record<string, string> = {}) =>
    prepareCassandra(loadRuntimeConfig(env), runtimePaths(dir));

  it("runs G1 with a 20 ms pause goal, not G1's 200 (docs/decisions.md, Young pauses)", () => {
    expect(args()).toEqual(expect.arrayContaining(['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20']));
    expect(args({ MARKET_RUNTIME_CASSANDRA_GC_PAUSE_MS: '200' })).toContain('-XX:MaxGCPauseMillis=200');
  });

  it('logs every pause to a rotated file beside its other logs', () => {
    const log = args().find((a) => a.startsWith('-Xlog:gc:'));
    expect(log).toBe(
      `-Xlog:gc:file=${join(runtimePaths(dir).logsDir, 'cassandra-gc.log')}:time,uptime:filecount=5,filesize=10m`,
    );
  });
});
