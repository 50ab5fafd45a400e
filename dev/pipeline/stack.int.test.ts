/**
 * The bridge reaches the local replay feed by URL like any feed: the stack runs the replay feed as its own
 * process (dev/replay-feed/main.ts, settings from its own REPLAY_* config) and the bridge, which has no built-in
 * feed, writes its trades to the real Kafka.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { uniqueName } from '../../test/fixtures.ts';
import { quietLog } from '../../test/market-fixtures.ts';
import { type Stack, startStack } from './stack.ts';

const work = mkdtempSync(join(tmpdir(), 'mp-stack-'));
let stack: Stack | undefined;

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('local stack without a feed URL', () => {
  it('runs the replay feed as its own process and the bridge writes its trades to Kafka', async () => {
    const topic = uniqueName('stack');
    stack = await startStack({
      kafkaBrokers: inject('kafkaBrokers'),
      cassandraContactPoints: inject('cassandraContactPoints'),
      cassandraLocalDataCenter: inject('cassandraLocalDataCenter'),
      keyspace: 'unused',
      topic,
      workDir: work,
      only: ['replay-feed', 'bridge'],
      env: { REPLAY_TRADES_PER_SECOND: '200', LOG_LEVEL: 'warn' },
    });
    const feed = stack.service('replay-feed');
    const bridge = stack.service('bridge');
    expect(bridge.spec.env.FINNHUB_URL).toBe(feed.spec.url.replace('http:', 'ws:'));
    const kafka = createKafkaClient({
      brokers: inject('kafkaBrokers'),
      clientId: 'stack-test',
      logger: quietLog,
    });
    const admin = await kafka.admin();
    try {
      let written = 0;
      while (written === 0) {
        const ends = await admin.endOffsets(topic).catch(() => ({}));
        written = Object.values(ends).reduce((s, o) => s + Number(o), 0);
        if (written === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(written).toBeGreaterThan(0);
    } finally {
      await admin.close();
      await kafka.close();
    }
  }, 120_000);
});
