import { setTimeout as sleep } from 'node:timers/promises';
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';
import { describe, expect, it } from 'vitest';
import { kafkajsScheduleCheck } from './kafkajs-request-queue.ts';

const noop = () => {};
const logger = { debug: noop, info: noop, warn: noop, error: noop };
/** A queue for one broker connection, as kafkajs makes it (no in-flight limit). */
const newQueue = () =>
  new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, clientId: 't', broker: 'b', logger });

/** How often an idle queue (nothing pending, nothing in flight, no throttle) checks its pending list in 200 ms. */
async function idleChecks(schedule?: RequestQueue['scheduleCheckPendingRequests']): Promise<number> {
  const q = newQueue();
  if (schedule) q.scheduleCheckPendingRequests = schedule;
  const check = q.checkPendingRequests.bind(q);
  let checks = 0;
  q.checkPendingRequests = () => {
    checks += 1;
    check();
  };
  q.checkPendingRequests(); // what a response does (fulfillRequest)
  await sleep(200);
  q.destroy();
  return checks;
}

describe("kafkajs's request queue, patched", () => {
  it('does not wake while nothing is pending', async () => {
    expect(await idleChecks()).toBe(1);
  });

  it("kafkajs's own method still loops every millisecond (when this fails, kafkajs fixed it: drop the patch)", async () => {
    expect(await idleChecks(kafkajsScheduleCheck)).toBeGreaterThan(50);
  });

  it('still checks a request that waits behind a throttle, when the throttle ends', async () => {
    const q = newQueue();
    let sent = 0;
    q.throttledUntil = Date.now() + 50;
    q.push({
      entry: { correlationId: 1, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve: noop, reject: noop },
      expectResponse: true,
      sendRequest: () => {
        sent += 1;
      },
    } as never);
    expect(sent).toBe(0);
    await sleep(120);
    expect(sent).toBe(1);
    q.destroy();
  });
});
