import { type Env, loadConfig, type Setting } from '../config/env.ts';
import * as p from '../config/parsers.ts';
import type { KafkaClientOptions } from './types.ts';

/**
 * Connection settings of a process's Kafka client. Entry points load them and hand the built client to
 * the code that needs it; libraries and handlers never read Kafka settings from the environment.
 */
export const kafkaSpec = {
  brokers: {
    env: 'KAFKA_BROKERS',
    doc: 'Kafka bootstrap brokers, host:port, comma-separated',
    parse: p.list(p.hostPort),
    default: ['127.0.0.1:19092'],
  } satisfies Setting<string[]>,
  clientId: {
    env: 'KAFKA_CLIENT_ID',
    doc: 'Client id shown in broker logs and quotas (unset: the process name)',
    parse: p.identifier(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" or "-"'),
    default: undefined,
  } satisfies Setting<string | undefined>,
  ssl: {
    env: 'KAFKA_SSL',
    doc: 'Connect with TLS (system CAs, or KAFKA_SSL_CA_FILE)',
    parse: p.bool,
    default: false,
  } satisfies Setting<boolean>,
  sslCaFile: {
    env: 'KAFKA_SSL_CA_FILE',
    doc: 'PEM file of the CA to trust for TLS (e.g. the Strimzi cluster CA)',
    parse: p.text,
    default: undefined,
  } satisfies Setting<string | undefined>,
  saslMechanism: {
    env: 'KAFKA_SASL_MECHANISM',
    doc: 'SASL mechanism when the cluster requires authentication',
    parse: p.oneOf('plain', 'scram-sha-256', 'scram-sha-512'),
    default: undefined,
  } satisfies Setting<'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined>,
  saslUsername: {
    env: 'KAFKA_SASL_USERNAME',
    doc: 'SASL user (with KAFKA_SASL_MECHANISM)',
    parse: p.text,
    default: undefined,
  } satisfies Setting<string | undefined>,
  saslPassword: {
    env: 'KAFKA_SASL_PASSWORD',
    doc: 'SASL password (with KAFKA_SASL_MECHANISM)',
    parse: p.text,
    default: undefined,
    secret: true,
  } satisfies Setting<string | undefined>,
} as const;

export type KafkaConfig = ReturnType<typeof loadKafkaConfig>;
export const loadKafkaConfig = (env: Env = process.env) => loadConfig(kafkaSpec, env);

/** Turns loaded settings into client options; `readFile` reads the CA file (injected for tests). */
export function kafkaClientOptions(
  cfg: KafkaConfig,
  defaults: { clientId: string; readFile: (path: string) => string },
): KafkaClientOptions {
  const base = { brokers: cfg.brokers, clientId: cfg.clientId ?? defaults.clientId };
  const ssl = cfg.sslCaFile ? { ca: [defaults.readFile(cfg.sslCaFile)] } : cfg.ssl;
  if (!cfg.saslMechanism) return ssl ? { ...base, ssl } : base;
  if (!cfg.saslUsername || !cfg.saslPassword) {
    throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  }
  const sasl = { mechanism: cfg.saslMechanism, username: cfg.saslUsername, password: cfg.saslPassword };
  return ssl ? { ...base, ssl, sasl } : { ...base, sasl };
}
