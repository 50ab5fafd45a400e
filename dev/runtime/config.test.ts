import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/index.ts';
import { loadRuntimeConfig } from './config.ts';
import { repoRoot, runtimePaths } from './paths.ts';

describe('runtime config', () => {
  it('defaults keep clear of the well-known Kafka/Cassandra ports', () => {
    const cfg = loadRuntimeConfig({});
    expect(cfg).toMatchObject({
      mode: 'auto',
      cacheDir: '.cache/runtime',
      kafkaVersion: '4.1.1',
      cassandraVersion: '5.0.8',
      kafkaPort: 19092,
      kafkaControllerPort: 19093,
      cassandraPort: 19042,
      cassandraStoragePort: 17000,
    });
    expect(cfg.externalKafkaBrokers).toBeUndefined();
  });

  it.each([
    ['MARKET_RUNTIME', 'external', 'mode', 'external'],
    ['MARKET_RUNTIME_KAFKA_PORT', '29092', 'kafkaPort', 29092],
    ['MARKET_RUNTIME_CASSANDRA_PORT', '29042', 'cassandraPort', 29042],
    ['MARKET_RUNTIME_CASSANDRA_STORAGE_PORT', '27000', 'cassandraStoragePort', 27000],
    ['MARKET_RUNTIME_KAFKA_VERSION', '4.1.0', 'kafkaVersion', '4.1.0'],
    ['MARKET_RUNTIME_CASSANDRA_VERSION', '5.0.6', 'cassandraVersion', '5.0.6'],
    ['MARKET_RUNTIME_KAFKA_BROKERS', 'k1:9092,k2:9092', 'externalKafkaBrokers', ['k1:9092', 'k2:9092']],
  ] as const)('%s=%s sets %s', (env, raw, key, expected) => {
    expect(loadRuntimeConfig({ [env]: raw })[key]).toEqual(expected);
  });

  it.each([
    ['MARKET_RUNTIME', 'docker'],
    ['MARKET_RUNTIME_KAFKA_PORT', '80'],
    ['MARKET_RUNTIME_KAFKA_PORT', 'many'],
    ['MARKET_RUNTIME_CASSANDRA_PORT', '70000'],
    ['MARKET_RUNTIME_KAFKA_VERSION', '3.9.0'],
    ['MARKET_RUNTIME_CASSANDRA_VERSION', '4.1.5'],
    ['MARKET_RUNTIME_KAFKA_BROKERS', 'no-port'],
    ['MARKET_RUNTIME_CASSANDRA_HEAP_MB', '16'],
  ])('rejects %s=%s naming the variable', (env, raw) => {
    let error: unknown;
    try {
      loadRuntimeConfig({ [env]: raw });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(1);
    expect((error as ConfigError).problems[0]).toContain(env);
  });

  it.each([
    ['.cache/runtime', join(repoRoot, '.cache/runtime')],
    ['/tmp/elsewhere', '/tmp/elsewhere'],
  ])('cache dir %s resolves to %s, with the documented layout', (dir, home) => {
    const paths = runtimePaths(dir);
    expect(paths.home).toBe(home);
    expect(paths.libs('kafka')).toBe(join(home, 'jars/kafka/libs'));
    expect(paths.marker('cassandra')).toBe(join(home, 'jars/cassandra/fetched.json'));
    expect(paths.data('cassandra')).toBe(join(home, 'data/cassandra'));
    expect(paths.log('kafka')).toBe(join(home, 'logs/kafka.log'));
    expect(paths.pidFile('kafka')).toBe(join(home, 'state/kafka.pid'));
  });
});
