import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.ts';
import { createLogger } from '../observability/logger.ts';
import { kafkaClientOptions, loadKafkaConfig } from './config.ts';
import { createKafkaClient, fromKafkaHeaders, pinoLogCreator, toKafkaHeaders } from './kafkajs.ts';

/** A debug-level logger whose lines are collected as parsed JSON. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('kafka', { level: 'debug', destination }) };
}

describe('headers', () => {
  it('passes strings and buffers through unchanged', () => {
    const bin = Buffer.from([0, 255]);
    expect(toKafkaHeaders({ ce_id: 'x', ce_bin: bin })).toEqual({ ce_id: 'x', ce_bin: bin });
    expect(toKafkaHeaders(undefined)).toEqual({});
  });

  it.each([undefined, null, 42])('refuses a header whose value is %s', (value) => {
    expect(() => toKafkaHeaders({ ce_id: 'x', ce_time: value as never })).toThrow(
      /Kafka header "ce_time" has no value/,
    );
  });

  it.each([
    ['buffer', { a: Buffer.from('1') }, { a: '1' }],
    ['string', { a: 'text' }, { a: 'text' }],
    ['repeated header keeps the last value', { a: [Buffer.from('1'), Buffer.from('2')] }, { a: '2' }],
    ['undefined entries are dropped', { a: undefined, b: 'x' }, { b: 'x' }],
  ])('incoming %s', (_, raw, expected) => {
    const out = fromKafkaHeaders(raw);
    expect(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toString()]))).toEqual(expected);
    for (const v of Object.values(out)) expect(Buffer.isBuffer(v)).toBe(true);
  });
});

describe('kafkajs log lines become pino lines', () => {
  it.each([
    [logLevel.ERROR, 'error'],
    [logLevel.WARN, 'warn'],
    [logLevel.INFO, 'info'],
    [logLevel.DEBUG, 'debug'],
  ])('kafkajs level %s -> pino %s, message kept, fields structured', (level, name) => {
    const { lines, logger } = capture();
    pinoLogCreator(logger)()({
      namespace: 'Connection',
      level,
      label: 'X',
      log: { message: 'Response Metadata', timestamp: 't', logger: 'kafkajs', broker: '127.0.0.1:19092' },
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: name,
        msg: 'Response Metadata',
        namespace: 'Connection',
        broker: '127.0.0.1:19092',
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('timestamp');
  });

  it.each([
    ['This server does not host this topic-partition', 'debug'],
    ['Not authorized to access topics: [Topic authorization failed]', 'error'],
  ])(
    'a connection error answer %j is logged at %s (retriable ones are retried by kafkajs)',
    (error, name) => {
      const { lines, logger } = capture();
      pinoLogCreator(logger)()({
        namespace: 'Connection',
        level: logLevel.ERROR,
        label: 'ERROR',
        log: { message: 'Response Metadata(key: 3, version: 6)', timestamp: 't', logger: 'kafkajs', error },
      });
      expect(lines[0]).toMatchObject({ level: name, error });
    },
  );
});

describe('a consumer crash kafkajs restarts from', () => {
  it.each([
    [
      "KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group",
      'warn',
    ],
    ['KafkaJSProtocolError: Not authorized to access group: Group authorization failed', 'error'],
  ])('"Crash: %s" is logged at %s', (cause, name) => {
    const { lines, logger } = capture();
    pinoLogCreator(logger)()({
      namespace: 'Consumer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: `Crash: ${cause}`, timestamp: 't', logger: 'kafkajs', groupId: 'g' },
    });
    expect(lines[0]).toMatchObject({ level: name });
  });
});

describe('kafka settings', () => {
  const read = (path: string) => `PEM of ${path}`;
  it.each([
    ['defaults', {}, { brokers: ['127.0.0.1:19092'], clientId: 'bridge' }],
    [
      'brokers and client id',
      { KAFKA_BROKERS: 'a:9092,b:9092', KAFKA_CLIENT_ID: 'bridge-1' },
      { brokers: ['a:9092', 'b:9092'], clientId: 'bridge-1' },
    ],
    [
      'TLS with system CAs',
      { KAFKA_SSL: 'true' },
      { brokers: ['127.0.0.1:19092'], clientId: 'bridge', ssl: true },
    ],
    [
      'TLS with a CA file',
      { KAFKA_SSL_CA_FILE: '/ca.crt' },
      { brokers: ['127.0.0.1:19092'], clientId: 'bridge', ssl: { ca: ['PEM of /ca.crt'] } },
    ],
    [
      'SCRAM',
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p4ssw0rd' },
      {
        brokers: ['127.0.0.1:19092'],
        clientId: 'bridge',
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p4ssw0rd' },
      },
    ],
  ])('%s', (_, env, expected) => {
    expect(kafkaClientOptions(loadKafkaConfig(env), { clientId: 'bridge', readFile: read })).toEqual(
      expected,
    );
  });

  it('SASL without credentials is refused', () => {
    expect(() =>
      kafkaClientOptions(loadKafkaConfig({ KAFKA_SASL_MECHANISM: 'plain' }), {
        clientId: 'x',
        readFile: read,
      }),
    ).toThrow('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  });

  it('an unsupported SASL mechanism is a config error', () => {
    expect(() => loadKafkaConfig({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(ConfigError);
  });
});

describe('createKafkaClient', () => {
  it('needs at least one broker', () => {
    expect(() => createKafkaClient({ brokers: [], clientId: 'x' })).toThrow(/at least one broker/);
  });

  it.each([0, 6, 1.5])('refuses maxInFlightRequests=%s before connecting anywhere', async (n) => {
    const client = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'x', logLevel: 'nothing' });
    await expect(client.producer({ maxInFlightRequests: n })).rejects.toThrow(RangeError);
  });
});
