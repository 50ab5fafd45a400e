import { bridgeSpec } from '../../functions/bridge/config.ts';
import { errorTable as bridgeErrorTable } from '../../functions/bridge/errors.ts';
import { finalizerSpec } from '../../functions/minute-finalizer/config.ts';
import { tradeWriterSpec } from '../../functions/trade-writer/config.ts';
import { deadLetterSpec } from '../../ops/config.ts';
import { cassandraSpec, schemaSpec } from '../../shared/cassandra/config.ts';
import { configTable, type Spec } from '../../shared/config/env.ts';
import { hostSpec } from '../../shared/host/process.ts';
import { kafkaSpec } from '../../shared/kafka/config.ts';
import { marketSpec } from '../../shared/market/config.ts';
import { METRICS } from '../../shared/observability/catalogue.ts';
import { replayFeedSpec } from '../replay-feed/config.ts';
import { startSpec } from '../start-config.ts';

/**
 * Generated sections of the READMEs: `<!-- generated:NAME -->` ... `<!-- /generated -->`. The tables come from
 * the config specs and the metrics catalogue, so the docs cannot drift (docs.test.ts checks them).
 */
const configs: Record<string, Spec> = {
  'config:host': hostSpec,
  'config:cassandra': cassandraSpec,
  'config:schema': schemaSpec,
  'config:market': marketSpec,
  'config:trade-writer': tradeWriterSpec,
  'config:start': startSpec,
  'config:bridge': bridgeSpec,
  'config:kafka': kafkaSpec,
  'config:replay-feed': replayFeedSpec,
  'config:dlq': deadLetterSpec,
  'config:minute-finalizer': finalizerSpec,
};

/** Other generated tables (error catalogues). */
const others: Record<string, () => string> = {
  'errors:bridge': bridgeErrorTable,
};

function metricsTable(component: string): string {
  const rows = Object.values(METRICS)
    .filter((m) => m.component === component)
    .map(
      (m) =>
        `| \`${m.name}\` | ${m.kind} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '-'} | ${m.help} |`,
    );
  return ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function section(name: string): string {
  const spec = configs[name];
  if (spec) return configTable(spec);
  const other = others[name];
  if (other) return other();
  if (name.startsWith('metrics:')) return metricsTable(name.slice('metrics:'.length));
  throw new Error(`unknown generated section ${name}`);
}

const BLOCK = /<!-- generated:([a-z0-9:-]+) -->\n[\s\S]*?<!-- \/generated -->/g;

/** Rewrites every generated block of a markdown text. */
export const renderGenerated = (markdown: string): string =>
  markdown.replace(
    BLOCK,
    (_all, name: string) => `<!-- generated:${name} -->\n${section(name)}\n<!-- /generated -->`,
  );
