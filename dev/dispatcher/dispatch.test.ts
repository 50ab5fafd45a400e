import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffSchedule, classifyStatus, dispatchWithRetry, postOnce } from './dispatch.ts';

describe('classifyStatus', () => {
  it.each([
    [200, 'ok'],
    [202, 'ok'],
    [204, 'ok'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [404, 'retry'],
    [408, 'retry'],
    [409, 'retry'],
    [429, 'retry'],
    [400, 'poison'],
    [401, 'poison'],
    [403, 'poison'],
    [405, 'poison'],
    [413, 'poison'],
    [415, 'poison'],
    [422, 'poison'],
    [301, 'poison'],
  ])('%i is %s', (status, cls) => {
    expect(classifyStatus(status)).toBe(cls);
  });
});

describe('backoffSchedule', () => {
  it.each([
    { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 300, want: [] },
    { retry: 3, backoffPolicy: 'linear', backoffDelayMs: 100, want: [100, 200, 300] },
    { retry: 4, backoffPolicy: 'exponential', backoffDelayMs: 100, want: [200, 400, 800, 1600] },
    {
      retry: 6,
      backoffPolicy: 'exponential',
      backoffDelayMs: 500,
      want: [1000, 2000, 4000, 8000, 16000, 32000],
    },
  ] as const)('$retry x $backoffPolicy from $backoffDelayMs ms', ({ want, ...d }) => {
    expect(backoffSchedule(d)).toEqual(want);
  });

  it('the Knative defaults wait about 614 s in all', () => {
    const total = backoffSchedule({ retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 300 }).reduce(
      (a, b) => a + b,
    );
    expect(total).toBe(613_800);
  });
});

describe('delivery over HTTP', () => {
  let server: Server;
  let base: string;
  /** Scripted answers per path: each request takes the next status (the last one repeats). */
  const script = new Map<string, number[]>();
  const seen: { path: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        seen.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
        if (path === '/hang') return; // never answers
        if (path === '/big') {
          res.writeHead(500);
          res.end(Buffer.alloc(5000, 0x61));
          return;
        }
        const list = script.get(path) ?? [200];
        const status = list.length > 1 ? list.shift()! : list[0]!;
        res.writeHead(status, { 'kne-reason': 'why' });
        res.end(`status ${status}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts headers and the body bytes unchanged', async () => {
    const body = Buffer.from([0, 1, 2, 250, 255]);
    const a = await postOnce(
      `${base}/echo`,
      { 'ce-id': '1', 'content-type': 'application/avro' },
      body,
      2000,
    );
    expect(a).toMatchObject({ kind: 'response', status: 200 });
    const got = seen.find((s) => s.path === '/echo')!;
    expect(got.headers['ce-id']).toBe('1');
    expect(got.headers['content-type']).toBe('application/avro');
    expect([...got.body]).toEqual([...body]);
  });

  it('keeps only the first 1024 bytes of a response body', async () => {
    const a = await postOnce(`${base}/big`, {}, null, 2000);
    expect(a.kind === 'response' && a.body.length).toBe(1024);
  });

  it('reports a timeout and a refused connection as errors, never throwing', async () => {
    expect(await postOnce(`${base}/hang`, {}, null, 100)).toMatchObject({ kind: 'error', reason: 'timeout' });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await postOnce(`http://127.0.0.1:${port}/`, {}, null, 1000)).toMatchObject({
      kind: 'error',
      reason: 'network',
    });
  });

  it('retries 503 with backoff, then succeeds', async () => {
    script.set('/flaky', [503, 503, 200]);
    const attempts: number[] = [];
    const out = await dispatchWithRetry(`${base}/flaky`, {}, null, {
      retry: 5,
      backoffPolicy: 'linear',
      backoffDelayMs: 10,
      timeoutMs: 2000,
      onAttempt: (a) => attempts.push(a.kind === 'response' ? a.status : 0),
    });
    expect(out).toMatchObject({ result: 'delivered', attempts: 3 });
    expect(attempts).toEqual([503, 503, 200]);
  });

  it.each([400, 415, 422])('does not retry %i', async (status) => {
    script.set(`/poison${status}`, [status]);
    const out = await dispatchWithRetry(`${base}/poison${status}`, {}, null, {
      retry: 5,
      backoffPolicy: 'linear',
      backoffDelayMs: 10,
      timeoutMs: 2000,
    });
    expect(out).toMatchObject({ result: 'failed', attempts: 1, last: { status } });
  });

  it('gives up after exactly `retry` retries', async () => {
    script.set('/down', [503]);
    const out = await dispatchWithRetry(`${base}/down`, {}, null, {
      retry: 2,
      backoffPolicy: 'exponential',
      backoffDelayMs: 5,
      timeoutMs: 2000,
    });
    expect(out).toMatchObject({ result: 'failed', attempts: 3, last: { status: 503 } });
  });

  it('stops waiting when aborted', async () => {
    script.set('/down2', [503]);
    const ac = new AbortController();
    const p = dispatchWithRetry(`${base}/down2`, {}, null, {
      retry: 3,
      backoffPolicy: 'linear',
      backoffDelayMs: 60_000,
      timeoutMs: 2000,
      signal: ac.signal,
      onAttempt: () => ac.abort(),
    });
    expect(await p).toMatchObject({ result: 'aborted', attempts: 1 });
  });
});
