import type { Setting } from '../shared/config/env.ts';
import * as p from '../shared/config/parsers.ts';

/** Settings of `npm start` itself (each service reads its own settings too; see their READMEs). */
export const startSpec = {
  portBase: {
    env: 'LOCAL_PORT_BASE',
    doc: 'First of six consecutive ports: trade-writer, minute-window, minute-finalizer, dispatcher, bridge, replay feed (the viewer has VIEWER_PORT)',
    parse: p.int({ min: 1024, max: 65_000 }),
    default: 8081,
  } satisfies Setting<number>,
  viewerPort: {
    env: 'VIEWER_PORT',
    doc: 'Port of the live viewer',
    parse: p.int({ min: 1024, max: 65_535 }),
    default: 8090,
  } satisfies Setting<number>,
  keyspace: {
    env: 'CASSANDRA_KEYSPACE',
    doc: 'Keyspace the local pipeline writes',
    parse: p.identifier(/^[a-z][a-z0-9_]{0,47}$/, 'a lowercase Cassandra keyspace name'),
    default: 'market',
  } satisfies Setting<string>,
  topic: {
    env: 'KAFKA_TOPIC',
    doc: 'Topic the bridge writes and the sources read (dead letters go to `<KAFKA_TOPIC>-dead-letters`)',
    parse: p.identifier(/^[A-Za-z0-9._-]{1,200}$/, 'a Kafka topic name'),
    default: 'market',
  } satisfies Setting<string>,
  replaySymbols: {
    env: 'FINNHUB_SYMBOLS',
    doc: 'Symbols to subscribe (without FINNHUB_TOKEN the replay feed makes a market for these)',
    parse: p.list(p.text, { max: 50 }),
    default: ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL', 'MSFT'],
  } satisfies Setting<string[]>,
  workDir: {
    env: 'LOCAL_WORK_DIR',
    doc: 'Logs and the bridge spool of the local pipeline (the runtime keeps its data in MARKET_RUNTIME_DIR)',
    parse: p.text,
    default: '.cache/local',
  } satisfies Setting<string>,
} as const;
