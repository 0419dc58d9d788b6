/** Logs: JSON lines for machines (piped, containers), readable lines for people at a terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, readableLine } from '../../src/node/logger.js';

function capture(format: 'auto' | 'json' | 'pretty') {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const logger = createLogger('info', format, out);
  return { logger, text: () => text };
}

const REQUEST = { method: 'POST', path: '/v1/chat/completions', status: 200, cache: 'HIT', reason: undefined, match: 'exact', ms: 1.2 };

describe('createLogger', () => {
  it('json: one JSON object per line, fields kept', () => {
    const c = capture('json');
    c.logger.info(REQUEST, 'request');
    const line = JSON.parse(c.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'request', method: 'POST', status: 200, cache: 'HIT', match: 'exact', ms: 1.2 });
  });

  it('auto writes JSON when the output is not a terminal', () => {
    const c = capture('auto');
    c.logger.info({ port: 8080 }, 'reprise listening');
    expect(JSON.parse(c.text().trim())).toMatchObject({ msg: 'reprise listening', port: 8080 });
  });

  it('pretty: a request is one readable line, with no JSON in it', () => {
    const c = capture('pretty');
    c.logger.info(REQUEST, 'request');
    const text = c.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: POST \/v1\/chat\/completions 200 HIT exact 1\.2 ms\n$/);
  });

  it('pretty: other lines show the message and their fields as key=value', () => {
    const c = capture('pretty');
    c.logger.warn({ stage: 'embed', err: 'worker died' }, 'cache fault; failing open');
    expect(c.text()).toContain('WARN: cache fault; failing open stage=embed err=worker died');
  });

  it('redacts an authorization field in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      const c = capture(format);
      c.logger.info({ authorization: 'Bearer sk-secret' }, 'oops');
      expect(c.text()).not.toContain('sk-secret');
    }
  });
});

describe('readableLine', () => {
  it('puts a reason in brackets and leaves out what is absent', () => {
    expect(readableLine({ msg: 'request', method: 'POST', path: '/v1/completions', status: 200, cache: 'BYPASS', reason: 'no-store', ms: 3 })).toBe(
      'POST /v1/completions 200 BYPASS (no-store) 3 ms',
    );
    expect(readableLine({ msg: 'request', method: 'GET', path: '/healthz', status: 200 })).toBe('GET /healthz 200');
  });
});
