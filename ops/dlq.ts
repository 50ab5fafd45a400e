/**
 * `npm run dlq -- list | inspect <partition>:<offset> | replay [--include-poison] [--dry-run]`
 * The dead-letter topic for operators, locally or against the cluster's Kafka: the connection comes from
 * the same variables every service reads (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*,
 * KAFKA_SASL_PASSWORD_FILE for a mounted secret). Results go to stdout, diagnostics to stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../shared/config/env.ts';
import { kafkaClientOptions, loadKafkaConfig } from '../shared/kafka/config.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { deadLetterSpec } from './config.ts';
import { type DeadLetter, decodeTrades, replayDeadLetters, withDeadLetters } from './dead-letters.ts';

const USAGE = `usage: npm run dlq -- <command>
  list                            every dead letter: partition:offset, id, subject, code, trades, reason
  inspect <partition>:<offset>    one dead letter in full: headers, error, decoded trades
  replay [--include-poison] [--dry-run]
                                  write the dead letters not replayed yet back onto DLQ_REPLAY_TOPIC
                                  (each event once, with its own id); poison (4xx) is left out unless asked`;

const log = createLogger('dlq', { destination: process.stderr });

function line(dl: DeadLetter): string {
  const trades = decodeTrades(dl);
  return [
    `${dl.partition}:${dl.offset}`,
    dl.id,
    dl.subject,
    dl.code ?? 'no-answer',
    dl.poison ? 'poison' : 'retryable',
    trades ? `${trades.length} trades` : 'not a trade batch',
    (dl.reason ?? '').replace(/\s+/g, ' ').slice(0, 120),
  ].join('\t');
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'include-poison': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command || !['list', 'inspect', 'replay'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const cfg = loadConfig(deadLetterSpec);
  const kafka = createKafkaClient({
    ...kafkaClientOptions(loadKafkaConfig(), { clientId: 'dlq', readFile: (f) => readFileSync(f, 'utf8') }),
    logger: log.child({ component: 'kafka' }),
  });
  try {
    if (command === 'list') {
      const n = await withDeadLetters(kafka, { topic: cfg.topic, idleMs: cfg.idleMs }, async (letters) => {
        for (const dl of letters) process.stdout.write(`${line(dl)}\n`);
        return letters.length;
      });
      log.info({ topic: cfg.topic, deadLetters: n }, 'listed');
      return 0;
    }
    if (command === 'inspect') {
      const m = /^(\d+):(\d+)$/.exec(target ?? '');
      if (!m) {
        process.stderr.write(`inspect needs <partition>:<offset>, as list prints it\n${USAGE}\n`);
        return 2;
      }
      const found = await withDeadLetters(kafka, { topic: cfg.topic, idleMs: cfg.idleMs }, async (letters) =>
        letters.find((dl) => dl.partition === Number(m[1]) && dl.offset === m[2]),
      );
      if (!found) {
        process.stderr.write(`no dead letter at ${target} on ${cfg.topic}\n`);
        return 1;
      }
      const { record, ...rest } = found;
      const headers = Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, v.toString()]));
      process.stdout.write(
        `${JSON.stringify({ ...rest, key: record.key?.toString() ?? null, headers, trades: decodeTrades(found) }, null, 2)}\n`,
      );
      return 0;
    }
    const summary = await withDeadLetters(
      kafka,
      { topic: cfg.topic, idleMs: cfg.idleMs, ...(values['dry-run'] ? {} : { groupId: cfg.replayGroup }) },
      (letters) =>
        replayDeadLetters(kafka, letters, {
          to: cfg.replayTopic,
          includePoison: values['include-poison'] ?? false,
          dryRun: values['dry-run'] ?? false,
        }),
    );
    process.stdout.write(`${JSON.stringify({ from: cfg.topic, to: cfg.replayTopic, ...summary })}\n`);
    return 0;
  } finally {
    await kafka.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else log.error({ err }, 'dlq failed');
    process.exit(1);
  },
);
