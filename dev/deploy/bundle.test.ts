/**
 * Each bundle starts with exactly the image's command (the Dockerfile's WORKDIR + ENTRYPOINT + CMD, with the
 * image's node being this node) and serves: health, readiness (false without Cassandra), metrics, and a
 * CloudEvent POST answered with the documented 4xx for malformed events. The real write through a bundle
 * is in bundle.int.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, type Deployable, ENTRIES } from './bundle.ts';
import { freePort, imageCommand, startLikeImage, stop, waitHttp } from './run-bundle.ts';

const out = mkdtempSync(join(tmpdir(), 'market-bundles-'));
const dirs = new Map<Deployable, string>();
const children: ChildProcess[] = [];

beforeAll(async () => {
  for (const name of Object.keys(ENTRIES) as Deployable[]) dirs.set(name, (await bundle(name, out)).dir);
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  rmSync(out, { recursive: true, force: true });
}, 60_000);

describe('Dockerfile command', () => {
  it('is node main.js in /app (distroless node as entrypoint)', () => {
    expect(imageCommand()).toEqual({ workdir: '/app', argv: ['/nodejs/bin/node', 'main.js'] });
  });

  it('parses a different Dockerfile differently (the parse is not a constant)', () => {
    const other = imageCommand('FROM a AS b\nCMD ["x"]\nFROM c\nWORKDIR /srv\nCMD ["node", "server.js"]\n');
    expect(other).toEqual({ workdir: '/srv', argv: ['node', 'server.js'] });
  });
});

describe('bundles', () => {
  it('ship the files the sources read through import.meta.url', () => {
    expect(readFileSync(join(dirs.get('trade-writer') as string, 'trades.avsc'), 'utf8')).toContain(
      'FinnhubProducer',
    );
    expect(
      readFileSync(join(dirs.get('schema') as string, 'migrations', '001_tables.cql'), 'utf8'),
    ).toContain('CREATE TABLE');
  });

  it('need no TypeScript loader at run time', () => {
    for (const dir of dirs.values()) {
      const js = readFileSync(join(dir, 'main.js'), 'utf8');
      expect(js).not.toMatch(/from ['"]tsx/);
      expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type).toBe('module');
    }
  });

  it.each(['trade-writer', 'minute-window', 'minute-finalizer'] as const)(
    '%s starts with the image command and serves health, readiness, metrics and CloudEvents',
    async (name) => {
      const port = await freePort();
      const child = startLikeImage(dirs.get(name) as string, {
        PORT: String(port),
        HOST: '127.0.0.1',
        // Nothing listens there: the function must still start, stay alive and report not-ready.
        CASSANDRA_CONTACT_POINTS: '127.0.0.1:1',
      });
      children.push(child);
      const base = `http://127.0.0.1:${port}`;
      const health = await waitHttp(`${base}/healthz`, child);
      expect(health.status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# HELP /m);

      // Not a CloudEvent at all: poison, 400 (never a 5xx that KafkaSource would retry).
      const notCe = await fetch(`${base}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'not json',
      });
      expect(notCe.status).toBe(400);
      // A CloudEvent in binary mode, as the KafkaSource/PingSource dispatchers send it. For the trade
      // functions its type is wrong: poison, 4xx. For the finalizer it is a valid tick that needs Cassandra:
      // 503, which PingSource retries (Cassandra is down here on purpose).
      const ce = await fetch(`${base}/`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'bundle-test-1',
          'ce-source': 'urn:test',
          'ce-type': name === 'minute-finalizer' ? 'dev.knative.sources.ping' : 'dev.example.unknown.v1',
          'content-type': 'application/json',
        },
        body: '{"reason":"tick"}',
      });
      if (name === 'minute-finalizer') expect(ce.status).toBe(503);
      else {
        expect(ce.status).toBeGreaterThanOrEqual(400);
        expect(ce.status).toBeLessThan(500);
      }
      expect(await stop(child)).toBe(0);
    },
    30_000,
  );

  it('bridge starts with the image command and answers /healthz without Kafka', async () => {
    const port = await freePort();
    const spool = mkdtempSync(join(tmpdir(), 'bridge-spool-'));
    const child = startLikeImage(dirs.get('bridge') as string, {
      BRIDGE_HTTP_PORT: String(port),
      BRIDGE_HTTP_HOST: '127.0.0.1',
      BRIDGE_SPOOL_DIR: spool,
      KAFKA_BROKERS: '127.0.0.1:1',
    });
    children.push(child);
    try {
      const health = await waitHttp(`http://127.0.0.1:${port}/healthz`, child);
      expect(health.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    } finally {
      await stop(child);
      rmSync(spool, { recursive: true, force: true });
    }
  }, 30_000);

  it('schema exits non-zero with one clear log line when Cassandra is unreachable', async () => {
    const child = startLikeImage(dirs.get('schema') as string, { CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
    children.push(child);
    let stdout = '';
    child.stdout?.on('data', (d) => {
      stdout += String(d);
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(stdout).toContain('schema migration failed');
  }, 30_000);
});
