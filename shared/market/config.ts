import { ConfigError, type Env, loadConfig, type Setting } from '../config/env.ts';
import * as p from '../config/parsers.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '../contract/validate.ts';

/** Retention, finalization and acceptance settings shared by the three functions (they must agree). */
export const marketSpec = {
  maxFutureSkewS: {
    env: 'MAX_FUTURE_SKEW_S',
    doc: 'Trades stamped more than this ahead of the clock are refused and counted (reason future); bridge and functions',
    parse: p.int({ min: 1, max: 300 }),
    default: DEFAULT_MAX_FUTURE_SKEW_MS / 1000,
  } satisfies Setting<number>,
  tradeTtlS: {
    env: 'TRADE_TTL_S',
    doc: 'How long trade rows live (seconds); keep below ~50 TWCS windows of 1 day',
    parse: p.int({ min: 3600, max: 50 * 86400 }),
    default: 7 * 86400,
  } satisfies Setting<number>,
  counterRetentionS: {
    env: 'COUNTER_RETENTION_S',
    doc: 'Live minute counters older than this are range-deleted, and no longer updated (seconds)',
    parse: p.int({ min: 3600, max: 30 * 86400 }),
    default: 86400,
  } satisfies Setting<number>,
  finalizeLatenessS: {
    env: 'FINALIZE_LATENESS_S',
    doc: 'Allowed lateness: a minute is finalized once it ended this many seconds ago',
    parse: p.int({ min: 0, max: 3600 }),
    default: 10,
  } satisfies Setting<number>,
  finalizeHorizonS: {
    env: 'FINALIZE_HORIZON_S',
    doc: 'How far back late trades still re-finalize their minute (seconds; below COUNTER_RETENTION_S)',
    parse: p.int({ min: 120, max: 7 * 86400 }),
    default: 3 * 3600,
  } satisfies Setting<number>,
  appliedEventTtlS: {
    env: 'APPLIED_EVENT_TTL_S',
    doc: "How long minute-window remembers an event id to drop redeliveries (seconds; above Kafka's redelivery window)",
    parse: p.int({ min: 600, max: 30 * 86400 }),
    default: 86400,
  } satisfies Setting<number>,
} as const;

export type MarketConfig = ReturnType<typeof loadMarketConfig>;
export const loadMarketConfig = (env: Env = process.env) => {
  const cfg = loadConfig(marketSpec, env);
  if (cfg.finalizeHorizonS >= cfg.counterRetentionS) {
    throw new ConfigError([
      `FINALIZE_HORIZON_S (${cfg.finalizeHorizonS}) must be below COUNTER_RETENTION_S (${cfg.counterRetentionS}): a deleted counter cannot be updated again`,
    ]);
  }
  return cfg;
};
