import { describe, expect, it } from 'vitest';
import { RuntimeError, RuntimeErrors } from '../dev/runtime/errors.ts';
import { BridgeErrors } from '../functions/bridge/errors.ts';
import { defineErrors, Errors, errorReply, PipelineError, pipelineError } from './errors.ts';

describe('error catalogues', () => {
  it('every catalogue has the one shape, and no code is used twice across them', () => {
    const all = [...Object.values(Errors), ...Object.values(BridgeErrors), ...Object.values(RuntimeErrors)];
    for (const d of all) {
      expect(typeof d.code, d.code).toBe('string');
      expect(d.message.length, d.code).toBeGreaterThan(0);
      expect(d.fix.length, d.code).toBeGreaterThan(0);
      expect(typeof d.retryable, d.code).toBe('boolean');
      expect(Object.isFrozen(d), d.code).toBe(true);
    }
    expect(new Set(all.map((d) => d.code)).size).toBe(all.length);
    // The functions' retry contract: retryable errors answer 5xx, the others 4xx.
    for (const d of Object.values(Errors)) expect(d.status >= 500, d.code).toBe(d.retryable);
  });

  it('defineErrors refuses a code defined twice', () => {
    const d = { code: 'X', message: 'm', fix: 'f', retryable: false };
    expect(() => defineErrors({ A: d, B: { ...d } })).toThrow(/X is defined twice/);
  });

  it('errorReply is the one HTTP error body: code, message, retryable, with the entry status', () => {
    expect(errorReply(Errors.TRADE_INVALID, 'price -1')).toEqual({
      status: 422,
      body: { code: 'MP_TRADE_INVALID', message: 'price -1', retryable: false },
    });
    expect(errorReply(Errors.NOT_READY).body.message).toBe(Errors.NOT_READY.message);
    // Without a status: 503 when trying again can help, 400 otherwise.
    expect(errorReply({ code: 'A', message: 'm', fix: 'f', retryable: true }).status).toBe(503);
    expect(errorReply({ code: 'B', message: 'm', fix: 'f', retryable: false }).status).toBe(400);
  });

  it('errors thrown carry their entry: code, retryable and status', () => {
    const e = pipelineError('STORE_TIMEOUT', 'write of minute 12:00');
    expect(e).toBeInstanceOf(PipelineError);
    expect([e.code, e.retryable, e.status]).toEqual(['MP_STORE_TIMEOUT', true, 503]);
    const r = new RuntimeError('CACHE_CORRUPT', 'libs/ is missing', 'reset');
    expect([r.code, r.retryable, r.def]).toEqual(['CACHE_CORRUPT', false, RuntimeErrors.CACHE_CORRUPT]);
  });
});

describe('logging an error of the catalogue', () => {
  it('pino serializes it (the frozen entry is not walked as a nested error)', async () => {
    const { createLogger } = await import('./observability/logger.ts');
    const { Writable } = await import('node:stream');
    let out = '';
    const log = createLogger('t', {
      destination: new Writable({
        write(chunk, _enc, cb) {
          out += chunk;
          cb();
        },
      }),
    });
    const err = pipelineError('STORE_TIMEOUT', 'slow');
    log.warn({ code: err.code, err }, 'event failed');
    log.warn({ err: new RuntimeError('PORT_IN_USE', 'port 1 taken', 'free it') }, 'runtime');
    expect(out).toContain('"code":"MP_STORE_TIMEOUT"');
    expect(out).toContain('port 1 taken');
  });
});
