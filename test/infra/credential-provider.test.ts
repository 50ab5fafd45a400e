// The kubelet image credential provider node_prep installs (pull credentials for the app's registry): run
// for real against a stand-in of the GCE metadata server, it answers the kubelet's request with a
// CredentialProviderResponse carrying the node service account's token for exactly the registry host.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { ansibleDir } from './tools.ts';

// A shell, curl and two Pythons per case: seconds on a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

const script = path.join(ansibleDir, 'roles/node_prep/files/gce-registry-credentials');
let server: Server;
let base: string;
const seen: { flavor?: string; path?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ flavor: req.headers['metadata-flavor'] as string, path: req.url ?? '' });
    if (req.headers['metadata-flavor'] !== 'Google' || req.url === '/forbidden') {
      res.writeHead(403).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: 'ya29.node-token', expires_in: 3599, token_type: 'Bearer' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function provider(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(script, [], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    // What the kubelet writes on stdin.
    p.stdin.end(
      JSON.stringify({
        apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
        kind: 'CredentialProviderRequest',
        image: 'registry.example.test/proj/market/market-pipeline/bridge:abc',
      }),
    );
  });
}

describe('kubelet credential provider (node_prep)', () => {
  it('answers with the metadata token for the registry host', async () => {
    const r = await provider({
      REGISTRY_HOST: 'registry.example.test',
      TOKEN_URL: `${base}/computeMetadata/v1/instance/service-accounts/default/token`,
      CACHE_DURATION: '10m0s',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderResponse',
      cacheKeyType: 'Registry',
      cacheDuration: '10m0s',
      auth: { 'registry.example.test': { username: 'oauth2accesstoken', password: 'ya29.node-token' } },
    });
    expect(seen.at(-1)).toEqual({
      flavor: 'Google',
      path: '/computeMetadata/v1/instance/service-accounts/default/token',
    });
  });

  it('fails, printing no credentials, when the metadata server refuses or is unreachable', async () => {
    const refused = await provider({
      REGISTRY_HOST: 'registry.example.test',
      TOKEN_URL: `${base}/forbidden`,
    });
    const down = await provider({ REGISTRY_HOST: 'registry.example.test', TOKEN_URL: 'http://127.0.0.1:1/' });
    for (const r of [refused, down]) {
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
    }
  });

  it('the kubelet is pointed at it for exactly the registry of IMAGE_REGISTRY', () => {
    const tasks = parse(readFileSync(path.join(ansibleDir, 'roles/node_prep/tasks/main.yml'), 'utf8')) as {
      name: string;
      block?: { name: string }[];
    }[];
    const block = tasks.find((t) => t.name === "Pull the app's images with the node's credentials");
    expect(block?.block?.map((t) => t.name)).toEqual([
      'Create the credential provider directories',
      'Install the registry credential provider',
      'Configure the credential provider',
      'Point the kubelet at the credential provider',
    ]);
  });
});
