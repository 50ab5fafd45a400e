import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testCassandraConfig } from '../../test/cassandra.ts';
import { until } from '../../test/until.ts';
import { createLogger } from '../observability/logger.ts';
import { loadCassandraConfig } from './config.ts';
import { openCassandraSession } from './session.ts';

const capture = () => {
  let text = '';
  const log = createLogger('t', {
    destination: new Writable({
      write(c, _e, cb) {
        text += c;
        cb();
      },
    }),
  });
  return { log, text: () => text };
};

describe('openCassandraSession', () => {
  it('connects in the background and says so; close shuts the client down', async () => {
    const cap = capture();
    const s = openCassandraSession(testCassandraConfig('system'), 'session-test', cap.log);
    await s.up;
    expect(s.connected()).toBe(true);
    expect((await s.client.execute('SELECT release_version FROM system.local')).rows).toHaveLength(1);
    await s.close();
    expect(cap.text()).toContain('connected to Cassandra');
  });

  it('while the database is unreachable: not connected, retries logged, close stops the retrying', async () => {
    const cap = capture();
    const cfg = loadCassandraConfig({
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:1',
      CASSANDRA_PASSWORD: 'hunter2-pw',
    });
    const s = openCassandraSession(cfg, 'session-test', cap.log);
    await until('a logged retry', () => cap.text().includes('Cassandra not reachable yet, retrying'), 30_000);
    expect(s.connected()).toBe(false);
    await s.close();
    expect(cap.text()).not.toContain('hunter2-pw');
  });
});
