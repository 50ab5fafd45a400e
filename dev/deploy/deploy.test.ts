/**
 * `npm run deploy` in --dry-run mode: what it would build, push and apply, run as the real command. Nothing
 * here needs a cluster or a registry.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../test/fixtures.ts';
import { DeployError, objectsOf, plan, renderOverlay, renderSecrets, secretTemplates } from './deploy.ts';
import { contentTag } from './image.ts';

// Each case runs the real command (tsx start + kubectl kustomize): seconds, not milliseconds.
vi.setConfig({ testTimeout: 60_000 });

const env = { IMAGE_REGISTRY: 'registry.example/market', IMAGE_TAG: 't1', IMAGE_BUILDER: 'podman' };

function deploy(args: string[], extra: Record<string, string> = env) {
  const { PATH, HOME } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'dev/deploy/deploy.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH, HOME, ...extra },
  });
}

describe('npm run deploy -- <function> --dry-run', () => {
  it('bundles, builds, pushes and applies only trade-writer objects with the new image', () => {
    const r = deploy(['trade-writer', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    const image = 'registry.example/market/market-pipeline/trade-writer:t1';
    expect(r.stdout).toContain('$ node --import tsx dev/deploy/bundle.ts trade-writer');
    expect(r.stdout).toContain(
      `$ podman build --platform linux/amd64 -f Dockerfile --build-arg FUNCTION=trade-writer -t ${image} .`,
    );
    expect(r.stdout).toContain(`$ podman push ${image}`);
    expect(r.stdout).toContain('$ kubectl apply -f -');
    const applied = /would apply (.*)/.exec(r.stdout)?.[1]?.split(', ').sort();
    expect(applied).toEqual([
      'KafkaSource/trades',
      'KafkaUser/trade-writer',
      'PodMonitor/trade-writer',
      'Service/trade-writer',
    ]);
    expect(r.stdout).toContain(`image: ${image}`);
    expect(r.stdout).not.toMatch(/minute-window|minute-finalizer|name: bridge/);
    expect(r.stdout).toContain('$ kubectl wait ksvc trade-writer -n market --for=condition=Ready');
  });

  it('selects exactly the objects labelled with the deployable, for every deployable', () => {
    const all = renderOverlay('gcp');
    const names = (n: string) =>
      objectsOf(all, n)
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort();
    expect(names('minute-finalizer')).toEqual([
      'PingSource/minute-finalizer-tick',
      'PodMonitor/minute-finalizer',
      'Service/minute-finalizer',
    ]);
    expect(names('minute-window')).toEqual([
      'KafkaSource/windows',
      'KafkaUser/minute-window',
      'PodMonitor/minute-window',
      'Service/minute-window',
    ]);
    expect(names('bridge')).toEqual([
      'Deployment/bridge',
      'KafkaUser/bridge',
      'NetworkPolicy/bridge-ingress',
      'PodMonitor/bridge',
      'ServiceAccount/bridge',
    ]);
    expect(names('schema')).toEqual(['Job/cassandra-schema']);
  });

  it('re-runs the schema Job by deleting the finished one first', () => {
    const r = deploy(['schema', '--dry-run', '--overlay', 'local']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('$ kubectl delete job cassandra-schema -n market --ignore-not-found');
    expect(r.stdout).toContain('image: registry.example/market/market-pipeline/schema:t1');
  });

  it('tags an image with a digest of its content: a changed build gets a new tag, an identical one the same', () => {
    const r = deploy(['trade-writer', '--dry-run'], {
      IMAGE_REGISTRY: 'registry.example/market',
      IMAGE_BUILDER: 'podman',
    });
    expect(r.status, r.stderr).toBe(0);
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const bundle = join(repoRoot, 'dist', 'trade-writer');
    const tag = contentTag(bundle, dockerfile);
    expect(tag).toMatch(/^c-[0-9a-f]{20}$/);
    expect(r.stdout).toContain(`-t registry.example/market/market-pipeline/trade-writer:${tag} .`);
    expect(r.stdout).toContain(`image: registry.example/market/market-pipeline/trade-writer:${tag}`);
    // Two uncommitted builds that differ in one byte (git would call both <sha>-dirty) get two tags.
    const copy = mkdtempSync(join(tmpdir(), 'bundle-'));
    cpSync(bundle, copy, { recursive: true });
    expect(contentTag(copy, dockerfile)).toBe(tag);
    writeFileSync(join(copy, 'main.js'), `${readFileSync(join(copy, 'main.js'), 'utf8')}\n// changed\n`);
    expect(contentTag(copy, dockerfile)).not.toBe(tag);
    expect(contentTag(bundle, `${dockerfile}\n# changed`)).not.toBe(tag);
  });

  it('images: every image built for linux/amd64 and pushed under one tag, printed for the apps role', () => {
    const r = deploy(['images', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    for (const name of ['trade-writer', 'minute-window', 'minute-finalizer', 'bridge', 'schema']) {
      const image = `registry.example/market/market-pipeline/${name}:t1`;
      expect(r.stdout).toContain(
        `$ podman build --platform linux/amd64 -f Dockerfile --build-arg FUNCTION=${name} -t ${image} .`,
      );
      expect(r.stdout).toContain(`$ podman push ${image}`);
    }
    expect(r.stdout).toContain('$ echo IMAGE_TAG=t1');
    // The dry run makes all five bundles (each a few seconds of esbuild).
  }, 300_000);

  it('refuses without IMAGE_REGISTRY, and names an unknown deployable', () => {
    const noRegistry = deploy(['trade-writer', '--dry-run'], {});
    expect(noRegistry.status).toBe(2);
    expect(noRegistry.stderr).toContain('IMAGE_REGISTRY is not set');
    const unknown = deploy(['grafana', '--dry-run']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown deployable grafana');
  });
});

describe('npm run deploy -- scale', () => {
  it('patches min/max scale of one function (a new revision)', () => {
    const r = deploy(['scale', 'trade-writer', '--min', '2', '--max', '6', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `$ kubectl patch ksvc trade-writer -n market --type merge -p {"spec":{"template":{"metadata":{"annotations":{"autoscaling.knative.dev/min-scale":"2","autoscaling.knative.dev/max-scale":"6"}}}}}`,
    );
  });

  it('keeps minute-finalizer at max-scale 1 and rejects nonsense bounds', () => {
    expect(() => plan(['scale', 'minute-finalizer', '--max', '2', '--dry-run'], env)).toThrow(/max-scale 1/);
    expect(plan(['scale', 'minute-finalizer', '--min', '0', '--dry-run'], env).steps).toHaveLength(2);
    expect(() => plan(['scale', 'trade-writer', '--min', '5', '--max', '2'], env)).toThrow(
      /--min exceeds --max/,
    );
    expect(() => plan(['scale', 'trade-writer', '--max', '-1'], env)).toThrow(DeployError);
    expect(() => plan(['scale', 'bridge', '--max', '2'], env)).toThrow(/not a Knative function/);
  });
});

describe('npm run deploy -- secrets', () => {
  it('fills the templates from the environment and names what is missing, without printing values', () => {
    expect(secretTemplates('local')).toEqual(['knative/secrets/market.template.yaml']);
    expect(secretTemplates('gcp')).toContain('knative/secrets/kafka-auth.template.yaml');
    expect(() => renderSecrets(secretTemplates('gcp'), {})).toThrow(
      /CASSANDRA_ADMIN_PASSWORD.*KAFKA_PASSWORD_BRIDGE/s,
    );
    const vars = Object.fromEntries(
      [
        'CASSANDRA_ADMIN_USERNAME',
        'CASSANDRA_ADMIN_PASSWORD',
        'CASSANDRA_APP_USERNAME',
        'CASSANDRA_APP_PASSWORD',
        'CASSANDRA_GRAFANA_USERNAME',
        'CASSANDRA_GRAFANA_PASSWORD',
        'FINNHUB_TOKEN',
      ].map((k) => [k, `v-${k.toLowerCase()}: "quoted"`]),
    );
    const { yaml, names } = renderSecrets(secretTemplates('local'), vars);
    expect(names).toEqual([
      'market/cassandra-admin',
      'market/cassandra-app',
      'market/cassandra-grafana',
      'market/finnhub-token',
    ]);
    const docs = parseAllDocuments(yaml).map((d) => d.toJS());
    expect(docs[0].stringData.password).toBe('v-cassandra_admin_password: "quoted"');

    const r = deploy(['secrets', '--overlay', 'local', '--dry-run'], { ...env, ...vars });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('would apply Secrets market/cassandra-admin');
    expect(r.stdout).not.toContain('v-cassandra_admin_password');
  });
});
