import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/fixtures.ts';
import {
  CRD_SCHEMA_DIR,
  crdSchemaFile,
  KNATIVE_DEFAULT_DELIVERY,
  loadManifests,
  ManifestError,
  parseIsoDuration,
  parseManifests,
  renameTopics,
} from './manifests.ts';

const source = (spec: string, meta = 'name: s\n  namespace: ns') => `
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  ${meta}
spec:
  bootstrapServers: [b:9092]
  topics: [t]
  sink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: fn } }
${spec}`;

describe('parseIsoDuration', () => {
  it.each([
    ['PT0.5S', 500],
    ['PT0.3S', 300],
    ['PT30S', 30_000],
    ['PT1M', 60_000],
    ['PT1H2M3.5S', 3_723_500],
    ['P1D', 86_400_000],
    ['P1DT1S', 86_401_000],
    ['P1W', 604_800_000],
    ['PT0S', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '30s', 'PT-1S', 'P1Y', '1.5', 'PT1.5'])('rejects %j', (text) => {
    expect(() => parseIsoDuration(text)).toThrow(/ISO-8601/);
  });
});

describe('parseManifests: KafkaSource delivery', () => {
  it.each([
    {
      title: 'no delivery: the Knative defaults',
      spec: '',
      want: { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 300, timeoutMs: 600_000 },
    },
    {
      title: 'delivery with only a dead-letter sink: retry drops to 0 (the trap)',
      spec: '  delivery:\n    deadLetterSink: { uri: http://dls.example/ }',
      want: { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 600_000 },
    },
    {
      title: 'retry without backoffDelay: 200 ms exponential',
      spec: '  delivery:\n    retry: 3',
      want: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 600_000 },
    },
    {
      title: 'everything spelled out',
      spec: '  delivery:\n    retry: 2\n    backoffPolicy: linear\n    backoffDelay: PT1.5S\n    timeout: PT10S',
      want: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 1500, timeoutMs: 10_000 },
    },
  ])('$title', ({ spec, want }) => {
    const m = parseManifests(source(spec));
    expect(m.kafkaSources[0]!.delivery).toMatchObject(want);
  });

  it('keeps the default delivery object untouched', () => {
    expect(KNATIVE_DEFAULT_DELIVERY).toEqual({
      retry: 10,
      backoffPolicy: 'exponential',
      backoffDelayMs: 300,
      timeoutMs: 600_000,
    });
  });
});

describe('parseManifests: KafkaSource fields', () => {
  it('reads ordering, initialOffset, group, consumers, sink, ceOverrides and namespaces', () => {
    const m = parseManifests(
      source(
        '  ordering: unordered\n  initialOffset: earliest\n  consumerGroup: g\n  consumers: 2\n  ceOverrides:\n    extensions: { env: local }',
      ),
    );
    expect(m.kafkaSources[0]).toEqual({
      kind: 'KafkaSource',
      name: 's',
      namespace: 'ns',
      topics: ['t'],
      consumerGroup: 'g',
      initialOffset: 'earliest',
      ordering: 'unordered',
      consumers: 2,
      delivery: KNATIVE_DEFAULT_DELIVERY,
      sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn', namespace: 'ns' } },
      ceOverrides: { env: 'local' },
    });
  });

  it('applies the KafkaSource defaults: ordered, latest, a generated group, the default namespace', () => {
    const m = parseManifests(source('', 'name: s'));
    const s = m.kafkaSources[0]!;
    expect(s.ordering).toBe('ordered');
    expect(s.initialOffset).toBe('latest');
    expect(s.namespace).toBe('default');
    expect(s.consumerGroup).toMatch(/^knative-kafka-source-[0-9a-f-]{36}$/);
  });

  it.each([
    ['  ordering: random', /ordering must be ordered or unordered/],
    ['  initialOffset: beginning', /initialOffset must be earliest or latest/],
    ['  consumers: 0', /consumers must be an integer >= 1/],
    ['  delivery:\n    retry: -1', /retry: must be an integer >= 0/],
    [
      '  delivery:\n    retry: 2\n    backoffPolicy: fibonacci',
      /backoffPolicy: must be linear or exponential/,
    ],
    ['  delivery:\n    backoffDelay: 5s', /backoffDelay: .*ISO-8601/],
    ['  delivery:\n    timeout: PT0S', /timeout: must be longer than zero/],
    ['  delivery:\n    deadLetterSink: {}', /deadLetterSink: must be a Destination with ref or uri/],
    ['  ceOverrides:\n    extensions: { Bad-Name: x }', /ceOverrides extension name/],
  ])('rejects %j', (spec, problem) => {
    expect(() => parseManifests(source(spec))).toThrow(problem);
  });

  it.each([
    ['a wrong type', '  consumers: two', 'KafkaSource ns/s: spec.consumers: must be integer'],
    [
      'a wrong type, nested',
      '  delivery:\n    retry: many',
      'KafkaSource ns/s: spec.delivery.retry: must be integer',
    ],
    [
      'a list item of a wrong type',
      '  topics: [t, {name: u}]',
      'KafkaSource ns/s: spec.topics[1]: must be string',
    ],
    ['an unknown field', '  orderring: unordered', 'KafkaSource ns/s: spec.orderring: unknown field'],
    [
      'an unknown nested field',
      '  delivery:\n    retries: 3',
      'KafkaSource ns/s: spec.delivery.retries: unknown field',
    ],
  ])('refuses %s against the KafkaSource CRD schema, naming the field', (_what, spec, line) => {
    const text = source(spec).replace(/ {2}topics: \[t\]\n(?=[\s\S]* {2}topics:)/, '');
    try {
      parseManifests(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).problems).toEqual([line]);
    }
  });

  it('refuses unknown fields and wrong types of PingSource and KafkaSink too, and versions it has no schema for', () => {
    expect(() =>
      parseManifests(
        'apiVersion: sources.knative.dev/v1\nkind: PingSource\nmetadata: {name: p}\nspec: {schedule: 5, sink: {uri: http://x/}, jsonData: x}',
      ),
    ).toThrow(/PingSource default\/p: spec.jsonData: unknown field\n.*spec.schedule: must be string/);
    expect(() =>
      parseManifests(
        'apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: k}\nspec: {topic: t, bootstrapServers: [b], numPartitions: "3"}',
      ),
    ).toThrow(/KafkaSink default\/k: spec.numPartitions: must be integer/);
    expect(() =>
      parseManifests(source('').replace('sources.knative.dev/v1', 'sources.knative.dev/v1beta1')),
    ).toThrow(/apiVersion sources.knative.dev\/v1beta1 is not read locally/);
  });

  it('collects every problem of every object in one error', () => {
    const text = `${source('  ordering: x')}\n---\n${source('  initialOffset: y', 'name: other')}`;
    try {
      parseManifests(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).problems).toHaveLength(2);
    }
  });

  it('rejects a source without topics or sink, and duplicate source names', () => {
    expect(() =>
      parseManifests('apiVersion: sources.knative.dev/v1\nkind: KafkaSource\nmetadata: {name: a}\nspec: {}'),
    ).toThrow(/KafkaSource default\/a: spec.bootstrapServers: is required[\s\S]*spec.topics: is required/);
    expect(() => parseManifests(source('').replace(/ {2}sink: .*\n/, ''))).toThrow(
      /spec.sink: must be a Destination with ref or uri/,
    );
    expect(() => parseManifests(`${source('')}\n---\n${source('')}`)).toThrow(/names must be unique/);
  });

  it('ignores other kinds and reports YAML syntax errors', () => {
    const m = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n');
    expect(m).toEqual({ kafkaSources: [], pingSources: [], kafkaSinks: [] });
    expect(() => parseManifests('kind: [unclosed')).toThrow(/YAML error/);
  });
});

describe('parseManifests: PingSource and KafkaSink', () => {
  it('reads a PingSource with data or dataBase64', () => {
    const m = parseManifests(`
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: p, namespace: ns }
spec:
  schedule: "*/5 * * * *"
  contentType: application/json
  data: '{"a":1}'
  sink: { uri: http://127.0.0.1:9/x }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: q }
spec:
  schedule: "@hourly"
  dataBase64: AAEC
  sink: { uri: http://127.0.0.1:9/y }
`);
    expect(m.pingSources[0]).toMatchObject({
      name: 'p',
      schedule: '*/5 * * * *',
      contentType: 'application/json',
    });
    expect(m.pingSources[0]!.data!.toString()).toBe('{"a":1}');
    expect([...m.pingSources[1]!.data!]).toEqual([0, 1, 2]);
  });

  it('reads a KafkaSink and refuses structured content mode', () => {
    const sink = (mode: string) => `
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: { name: dls, namespace: ns }
spec: { topic: dead, numPartitions: 3, bootstrapServers: [b:9092], contentMode: ${mode} }`;
    expect(parseManifests(sink('binary')).kafkaSinks).toEqual([
      { kind: 'KafkaSink', name: 'dls', namespace: 'ns', topic: 'dead', numPartitions: 3 },
    ]);
    expect(() => parseManifests(sink('structured'))).toThrow(/only contentMode binary/);
  });

  it('takes the partitions of a KafkaSink without numPartitions from the KafkaTopic that owns its topic', () => {
    const text = `
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: { name: dls, namespace: ns }
spec: { topic: dead, bootstrapServers: [b:9092], contentMode: binary }
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: dead, namespace: kafka }
spec: { partitions: 3, replicas: 1 }`;
    expect(parseManifests(text).kafkaSinks[0]?.numPartitions).toBe(3);
    expect(parseManifests(text.split('---')[0] as string).kafkaSinks[0]?.numPartitions).toBe(1);
  });
});

describe('the checked-in knative/ manifests', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'dispatcher-manifests-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('render (kustomize) to the sources the pipeline depends on', async () => {
    const m = await loadManifests('knative/overlays/local');
    const trades = m.kafkaSources.find((s) => s.name === 'trades')!;
    const windows = m.kafkaSources.find((s) => s.name === 'windows')!;
    expect(trades).toMatchObject({
      namespace: 'market',
      topics: ['market'],
      consumerGroup: 'trade-writer',
      initialOffset: 'earliest',
      sink: { ref: { kind: 'Service', name: 'trade-writer', namespace: 'market' } },
    });
    // Ordering is the function owners' call (reasoned in the YAML); only the wiring is pinned here.
    expect(windows).toMatchObject({
      consumerGroup: 'minute-window',
      topics: ['market'],
      initialOffset: 'earliest',
    });
    expect(windows.sink.ref).toMatchObject({ kind: 'Service', name: 'minute-window' });
    for (const s of [trades, windows]) {
      // Every knob spelled out: a delivery block with only a DLS would mean zero retries.
      expect(s.delivery.retry).toBeGreaterThan(0);
      expect(s.delivery.deadLetterSink?.ref).toMatchObject({
        kind: 'KafkaSink',
        name: 'market-dead-letters',
      });
    }
    expect(m.kafkaSinks).toEqual([
      expect.objectContaining({
        name: 'market-dead-letters',
        namespace: 'market',
        topic: 'market-dead-letters',
      }),
    ]);
    expect(m.pingSources).toEqual([
      expect.objectContaining({
        name: 'minute-finalizer-tick',
        namespace: 'market',
        schedule: '* * * * *',
        contentType: 'application/json',
        sink: { ref: expect.objectContaining({ kind: 'Service', name: 'minute-finalizer' }) },
      }),
    ]);
  });

  it.each(readdirSync(join(repoRoot, 'knative', 'overlays')))(
    'overlay %s conforms to the CRD schemas',
    async (overlay) => {
      const m = await loadManifests(`knative/overlays/${overlay}`);
      expect(m.kafkaSources.length).toBeGreaterThan(0);
    },
  );

  it('says so clearly when kustomize (kubectl) is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = tmp;
    try {
      await expect(loadManifests('knative/overlays/local')).rejects.toThrow(/kubectl is not on PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('crd-schemas/', () => {
  // Generated: the copies are the tool cache's output of dev/setup/k8s/crd2jsonschema.py (dev/setup/install-k8s-tools.sh)
  // for the pinned releases; kept in the repository so `npm start` needs no k8s tool install.
  const cache = join(process.env.MARKET_TOOLS_DIR ?? join(repoRoot, '.cache', 'tools'), 'k8s-schemas', 'crd');
  it.each(['KafkaSource', 'PingSource', 'KafkaSink'] as const)(
    '%s equals the schema generated from its CRD',
    (kind) => {
      const generated = join(cache, crdSchemaFile(kind));
      if (!existsSync(generated)) {
        throw new Error(`${generated} is missing: run sh dev/setup/install-k8s-tools.sh`);
      }
      const committed = join(CRD_SCHEMA_DIR, crdSchemaFile(kind));
      expect(readFileSync(committed, 'utf8'), `stale: cp ${generated} ${relative(repoRoot, committed)}`).toBe(
        readFileSync(generated, 'utf8'),
      );
    },
  );
});

describe('renameTopics', () => {
  it('renames the topics of sources and sinks and leaves others alone', () => {
    const m = parseManifests(
      `${source('')}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: { name: dl, namespace: ns }
spec: { topic: t-dl, bootstrapServers: [b:9092] }
`,
    );
    const r = renameTopics(m, { t: 'local', 't-dl': 'local-dl', other: 'x' });
    expect(r.kafkaSources[0]!.topics).toEqual(['local']);
    expect(r.kafkaSinks[0]!.topic).toBe('local-dl');
    expect(renameTopics(m, {}).kafkaSources[0]!.topics).toEqual(['t']);
  });
});
