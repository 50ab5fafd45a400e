import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../shared/config/env.ts';
import { kafkaSpec } from '../../shared/kafka/config.ts';
import { dispatcherSpec, loadDispatcherConfig, sinkMap } from './config.ts';

describe('dispatcher config', () => {
  it('has working defaults', () => {
    expect(loadDispatcherConfig({})).toMatchObject({
      manifests: 'knative/overlays/local',
      port: 8070,
      commitIntervalMs: 1000,
      maxInFlight: 50,
      duplicateRatio: 0,
      pingSchedule: true,
    });
  });

  it('reads sink mappings', () => {
    expect(
      sinkMap('trade-writer=http://127.0.0.1:8081, market/minute-window=http://127.0.0.1:8082/'),
    ).toEqual({
      'trade-writer': 'http://127.0.0.1:8081',
      'market/minute-window': 'http://127.0.0.1:8082/',
    });
  });

  it('reads topic renames', () => {
    expect(
      loadDispatcherConfig({ DISPATCHER_TOPICS: 'market=m2, market-dead-letters=m2-dl' }).topics,
    ).toEqual({
      market: 'm2',
      'market-dead-letters': 'm2-dl',
    });
  });

  it.each([
    ['DISPATCHER_TOPICS', 'market=bad topic'],
    ['DISPATCHER_SINKS', 'trade-writer'],
    ['DISPATCHER_SINKS', 'a=ftp://x'],
    ['DISPATCHER_SINKS', 'a=http://127.0.0.1:1,a=http://127.0.0.1:2'],
    ['DISPATCHER_DUPLICATE_RATIO', '1.5'],
    ['DISPATCHER_COMMIT_INTERVAL_MS', '0'],
  ])('rejects %s=%s', (env, value) => {
    expect(() => loadDispatcherConfig({ [env]: value })).toThrow(env);
  });

  it('is documented in the README exactly as declared', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configTable(dispatcherSpec));
    expect(readme).toContain(configTable(kafkaSpec));
  });
});
