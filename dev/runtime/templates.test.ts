import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MAX_BATCH_BYTES } from '../../shared/cassandra/market-store.ts';
import { cassandraAppSettings, renderTemplate, writeFromTemplate } from './templates.ts';

const out = mkdtempSync(join(tmpdir(), 'runtime-templates-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function properties(text: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) map[m[1]] = m[2];
  }
  return map;
}

describe('renderTemplate', () => {
  it.each([
    ['a={{x}}', { x: 1 }, 'a=1'],
    ['{{x}}:{{x}}/{{y}}', { x: 'h', y: 2 }, 'h:h/2'],
    ['no placeholders', {}, 'no placeholders'],
  ])('%s', (text, values, expected) => {
    expect(renderTemplate(text, values)).toBe(expected);
  });

  it('names every placeholder left without a value', () => {
    expect(() => renderTemplate('{{a}} {{b}} {{c}}', { b: 1 })).toThrow('template values missing: a, c');
  });
});

describe('shipped templates', () => {
  it('server.properties: one combined node, the given ports, every internal topic at replication factor 1', () => {
    const file = writeFromTemplate('server.properties', out, {
      port: 29092,
      controllerPort: 29093,
      dataDir: '/d',
    });
    const p = properties(readFileSync(file, 'utf8'));
    expect(p).toMatchObject({
      'process.roles': 'broker,controller',
      'controller.quorum.voters': '1@127.0.0.1:29093',
      listeners: 'PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093',
      'log.dirs': '/d',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'share.coordinator.state.topic.replication.factor': '1',
      'share.coordinator.state.topic.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
    });
  });

  it('cassandra.yaml: valid YAML with the given ports and data dirs', () => {
    const file = writeFromTemplate('cassandra.yaml', out, {
      cqlPort: 29042,
      storagePort: 27000,
      dataDir: '/c',
    });
    const y = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(y).toMatchObject({
      native_transport_port: 29042,
      storage_port: 27000,
      listen_address: '127.0.0.1',
      rpc_address: '127.0.0.1',
      endpoint_snitch: 'SimpleSnitch',
      data_file_directories: ['/c/data'],
      // trade-writer's batches are this size by design: a lower threshold logs a warning per batch.
      batch_size_warn_threshold: `${MAX_BATCH_BYTES / 1024}KiB`,
      // As the cluster's init container sets it (knative/cassandra-scripts.int.test.ts): one measured setting.
      memtable_allocation_type: 'offheap_objects',
      commitlog_directory: '/c/commitlog',
      seed_provider: [{ parameters: [{ seeds: '127.0.0.1:27000' }] }],
    });
  });

  it("cassandra.yaml: the app's settings are the rendered file's own values, read below the marker", () => {
    const file = writeFromTemplate('cassandra.yaml', out, { cqlPort: 1, storagePort: 2, dataDir: '/c' });
    const y = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const app = cassandraAppSettings();
    expect(Object.keys(app)).toEqual([
      'memtable_allocation_type',
      'batch_size_warn_threshold',
      'paxos_variant',
      'storage_compatibility_mode',
      'sstable.selected_format',
    ]);
    // A nested setting by its dotted path, as system_views.settings names it.
    const at = (path: string): unknown =>
      path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], y);
    for (const [key, value] of Object.entries(app)) expect(String(at(key)), key).toBe(value);
    // Node-local settings stay out of it.
    expect(app).not.toHaveProperty('native_transport_port');
  });

  it.each(['log4j2.properties', 'logback.xml'])('%s renders without values', (name) => {
    expect(readFileSync(writeFromTemplate(name, out, {}), 'utf8')).not.toContain('{{');
  });
});
