import { describe, expect, it } from 'vitest';
import { sinkFor } from '../helpers/tap-sink.js';
import { Flight, JOINER_BUFFER_BYTES, SingleFlight } from '../../src/cache/single-flight.js';
import { SlowReaderError } from '../../src/openai/errors.js';
import type { Entry } from '../../src/store/types.js';

const enc = new TextEncoder();
const MiB = 1024 * 1024;


const HEADERS: Array<[string, string]> = [['content-type', 'text/event-stream']];
const ENTRY = { id: 's.t', scope: 's', textKey: 't', text: 'q', response: {}, endpoint: 'chat', model: 'm', tenant: 'a', namespace: '', createdAt: 0, expiresAt: 1 } satisfies Entry;

describe('Flight', () => {
  it('a joiner that subscribes after some chunks gets every byte from the first, then the rest live', async () => {
    const f = new Flight('sse');
    f.started(200, HEADERS);
    f.push(enc.encode('data: 1\n\n'));
    f.push(enc.encode('data: 2\n\n'));
    const early = sinkFor(f.subscribe()!);
    f.push(enc.encode('data: 3\n\n'));
    const late = sinkFor(f.subscribe()!);
    f.push(enc.encode('data: [DONE]\n\n'));
    f.finish(ENTRY);
    const all = 'data: 1\n\ndata: 2\n\ndata: 3\n\ndata: [DONE]\n\n';
    await Promise.all([early.done, late.done]);
    expect(early.text()).toBe(all);
    expect(late.text()).toBe(all);
    expect(await f.result).toBe(ENTRY);
    expect(await f.decided).toEqual({ kind: 'upstream', status: 200, headers: HEADERS });
    expect(f.form).toBe('sse');
  });

  it('a tap holds what arrives before its front attaches, then passes the rest straight on', async () => {
    const f = new Flight('json');
    const tap = f.subscribe()!;
    f.push(enc.encode('{"a":'));
    f.push(enc.encode('1'));
    const s = sinkFor(tap);
    expect(s.text()).toBe('{"a":1');
    f.push(enc.encode('}'));
    expect(s.chunks).toHaveLength(3);
    f.finish(undefined);
    await s.done;
    expect(s.ended()).toBe('end');
    expect(await f.result).toBeUndefined();
  });

  it('a joiner after finish gets the whole buffered body and a clean end', async () => {
    const f = new Flight('json');
    f.started(200, HEADERS);
    f.push(enc.encode('abc'));
    f.finish(ENTRY);
    const s = sinkFor(f.subscribe()!);
    await s.done;
    expect(s.text()).toBe('abc');
    expect(s.ended()).toBe('end');
  });

  it('fail errors current joiners with the same error, and later subscribe() returns undefined', async () => {
    const f = new Flight('sse');
    f.started(200, HEADERS);
    f.push(enc.encode('data: partial'));
    const s = sinkFor(f.subscribe()!);
    const err = new Error('upstream reset');
    f.fail(err);
    await s.done;
    expect(s.ended()).toEqual({ error: err });
    expect(f.subscribe()).toBeUndefined();
    expect(await f.result).toBeUndefined();
  });

  it('a flight failed with an undefined reason never gives a late joiner a clean, truncated body', () => {
    const f = new Flight('sse');
    f.started(200, HEADERS);
    f.push(enc.encode('data: partial\n\n'));
    f.fail(undefined);
    expect(f.subscribe()).toBeUndefined();
  });

  it('abandoned before upstream answered: joiners learn there is nothing to share', async () => {
    const f = new Flight('sse');
    f.abandon();
    expect(await f.decided).toEqual({ kind: 'none' });
    expect(await f.result).toBeUndefined();
    expect(f.subscribe()).toBeUndefined();
  });

  it('a leader served from the cache hands its hit to every joiner, whatever their form', async () => {
    const f = new Flight('json');
    f.hit(ENTRY, 'semantic', 0.95);
    expect(await f.decided).toEqual({ kind: 'hit', entry: ENTRY, match: 'semantic', score: 0.95 });
    expect(await f.result).toBe(ENTRY);
  });

  it('the first decision stands: a finish after the head does not change what joiners were told', async () => {
    const f = new Flight('json');
    f.started(503, HEADERS);
    f.finish(undefined);
    expect((await f.decided).kind).toBe('upstream');
  });

  it('a detached joiner receives nothing more and does not disturb others', async () => {
    const f = new Flight('sse');
    const a = f.subscribe()!;
    const aSink = sinkFor(a);
    const b = sinkFor(f.subscribe()!);
    a.detach();
    f.push(enc.encode('x'));
    f.finish(undefined);
    await b.done;
    expect(b.text()).toBe('x');
    expect(aSink.chunks).toHaveLength(0);
    expect(aSink.ended()).toBeUndefined();
  });

  it('up to the 8 MiB cap late joiners are served; past it subscribe() returns undefined', async () => {
    const f = new Flight('json');
    f.push(new Uint8Array(4 * MiB));
    f.push(new Uint8Array(4 * MiB)); // exactly 8 MiB
    const atCap = f.subscribe();
    expect(atCap).toBeDefined();
    f.push(new Uint8Array(1)); // one byte over
    expect(f.subscribe()).toBeUndefined();
    // The one who joined in time still gets everything.
    const s = sinkFor(atCap!);
    f.finish(undefined);
    await s.done;
    expect(s.chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(8 * MiB + 1);
  });

  it('a joiner is cut once more than JOINER_BUFFER_BYTES that came after its replay waits for its client', () => {
    const f = new Flight('sse');
    f.push(new Uint8Array(3 * MiB)); // the replay: more than the bound, and not counted against it
    const tap = f.subscribe()!;
    let unread = 0;
    let failed: unknown;
    tap.attach({ chunk: (b) => void (unread += b.byteLength), backlog: () => unread, end: () => {}, error: (e) => (failed = e) });
    expect(unread).toBe(3 * MiB);
    // Nothing read yet: what came after the replay is what counts.
    f.push(new Uint8Array(JOINER_BUFFER_BYTES));
    f.push(new Uint8Array(1));
    expect(failed).toBeUndefined();
    // The client reads the replay and a little more: the backlog is now all post-replay bytes.
    unread -= 3 * MiB + 1;
    f.push(new Uint8Array(1));
    expect(failed).toBeUndefined();
    expect(unread).toBe(JOINER_BUFFER_BYTES + 1);
    f.push(new Uint8Array(1));
    expect(failed).toBeInstanceOf(SlowReaderError);
    expect(f.sharers).toBe(0);
  });

  it('a single chunk over the cap also disables late joins', () => {
    const f = new Flight('json');
    f.push(new Uint8Array(8 * MiB + 1));
    expect(f.subscribe()).toBeUndefined();
  });
});

describe('SingleFlight', () => {
  it('lead registers a flight by key; get finds it; end removes it', () => {
    const sf = new SingleFlight();
    expect(sf.get('k')).toBeUndefined();
    const { flight, end } = sf.lead('k', 'sse');
    expect(sf.get('k')).toBe(flight);
    expect(sf.get('other')).toBeUndefined();
    expect(sf.size).toBe(1);
    end();
    expect(sf.get('k')).toBeUndefined();
    expect(sf.size).toBe(0);
  });

  it('end removes the flight only if it is still the same one', () => {
    const sf = new SingleFlight();
    const first = sf.lead('k', 'sse');
    const second = sf.lead('k', 'json'); // a new leader replaced the first
    first.end();
    expect(sf.get('k')).toBe(second.flight);
    second.end();
    expect(sf.get('k')).toBeUndefined();
    second.end(); // idempotent
    expect(sf.size).toBe(0);
  });

  it('all flights together keep at most their replay budget; a flight past it takes no late joiners, and an ended one gives its share back', () => {
    const sf = new SingleFlight(10);
    const a = sf.lead('a', 'json');
    const b = sf.lead('b', 'json');
    a.flight.push(new Uint8Array(8));
    expect(sf.replayBytes).toBe(8);
    b.flight.push(new Uint8Array(4)); // 12 > 10: b keeps nothing
    expect(sf.replayBytes).toBe(8);
    expect(b.flight.subscribe()).toBeUndefined();
    expect(a.flight.subscribe()).toBeDefined();
    a.flight.finish(undefined);
    a.end();
    a.end();
    expect(sf.replayBytes).toBe(0);
    const c = sf.lead('c', 'json');
    c.flight.push(new Uint8Array(10));
    expect(c.flight.subscribe()).toBeDefined();
    // A flight that overflowed gives back what it had kept, at once.
    c.flight.push(new Uint8Array(1));
    expect(sf.replayBytes).toBe(0);
    expect(c.flight.subscribe()).toBeUndefined();
  });

  it('flights for different keys are independent', () => {
    const sf = new SingleFlight();
    const a = sf.lead('a', 'sse');
    const b = sf.lead('b', 'sse');
    expect(a.flight).not.toBe(b.flight);
    a.end();
    expect(sf.get('b')).toBe(b.flight);
    expect(sf.size).toBe(1);
  });
});
