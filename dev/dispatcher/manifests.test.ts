import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
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
    ['  delivery:\n    deadLetterSink: {}', /deadLetterSink: needs ref or uri/],
    ['  ceOverrides:\n    extensions: { Bad-Name: x }', /ceOverrides extension name/],
  ])('rejects %j', (spec, problem) => {
    expect(() => parseManifests(source(spec))).toThrow(problem);
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
    ).toThrow(/topics must be a non-empty list[\s\S]*sink: must be a Destination/);
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

  it('render to the sources the pipeline depends on (files renderer)', async () => {
    const m = await loadManifests('knative/overlays/local', 'files');
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

  it('render the same with kubectl kustomize as with the built-in renderer', async (ctx) => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      ctx.skip();
    }
    const viaKubectl = await loadManifests('knative/overlays/local', 'kubectl');
    const viaFiles = await loadManifests('knative/overlays/local', 'files');
    expect(viaKubectl).toEqual(viaFiles);
  });

  it('the files renderer refuses kustomizations it cannot apply', async () => {
    writeFileSync(join(tmp, 'kustomization.yaml'), 'resources: [a.yaml]\npatches:\n  - path: p.yaml\n');
    writeFileSync(join(tmp, 'a.yaml'), source(''));
    await expect(loadManifests(tmp, 'files')).rejects.toThrow(/patches need kustomize/);
  });
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
