/** @module test/helpers/redis-server: the throwaway redis-server starts, answers, dies like a crash and comes back empty. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, refused, startRedis, startRelay, type RedisServer } from './redis-server.js';

describe('startRedis', () => {
  const servers: RedisServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('starts on a free port (never 6379) and answers PING', async () => {
    const r = await startRedis();
    servers.push(r);
    expect(r.port).not.toBe(6379);
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    expect(r.running).toBe(true);
    const c = r.client();
    expect(await c.ping()).toBe('PONG');
    // no persistence configured
    expect(await c.config('GET', 'save')).toEqual(['save', '']);
    expect(await c.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    c.disconnect();
  });

  it('kill() is a crash: connections are refused afterwards; restart() comes back empty on the same port', async () => {
    const r = await startRedis();
    servers.push(r);
    const c = r.client();
    await c.set('k', 'v');
    c.disconnect();

    await r.kill();
    expect(r.running).toBe(false);
    expect(await refused(r.port)).toBe(true);
    const down = r.client();
    await expect(down.ping()).rejects.toThrow();
    down.disconnect();

    await r.restart();
    expect(r.running).toBe(true);
    const after = r.client();
    expect(await after.ping()).toBe('PONG');
    expect(await after.get('k')).toBeNull();
    after.disconnect();
  });

  it('gives each call its own server', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    servers.push(a!, b!);
    expect(a!.port).not.toBe(b!.port);
    const ca = a!.client();
    const cb = b!.client();
    await ca.set('only-in-a', '1');
    expect(await cb.get('only-in-a')).toBeNull();
    ca.disconnect();
    cb.disconnect();
  });

  it('can start on a chosen port where a client is already waiting', async () => {
    const port = await freePort();
    expect(await refused(port)).toBe(true);
    const r = await startRedis(port);
    servers.push(r);
    expect(r.port).toBe(port);
    const c = r.client();
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
  });

  it('startRelay() forwards to Redis, and holds the replies while paused', async () => {
    const r = await startRedis();
    servers.push(r);
    const relay = await startRelay(r.port);
    const c = r.client();
    const rc = new Redis(relay.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    rc.on('error', () => {});
    try {
      await rc.set('through', 'relay');
      expect(await c.get('through')).toBe('relay');
      relay.pause();
      let answered = false;
      const pending = rc.get('through').then((v) => ((answered = true), v));
      await c.set('marker', '1'); // a round trip on the direct connection: the relayed one had time to answer
      await c.get('marker');
      expect(answered).toBe(false);
      relay.resume();
      expect(await pending).toBe('relay');
    } finally {
      rc.disconnect();
      c.disconnect();
      await relay.close();
    }
  });

  it('{ version: 8 } runs Redis 8 with vector sets (VADD, VSIM), and kill/restart the same way', async () => {
    const r = await startRedis(undefined, { version: 8 });
    servers.push(r);
    const c = r.client();
    const info = await c.info('server');
    expect(Number(/redis_version:(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(8);
    expect(await c.call('VADD', 'vs', 'VALUES', '2', '1', '0', 'a')).toBe(1);
    expect(await c.call('VADD', 'vs', 'VALUES', '2', '0', '1', 'b')).toBe(1);
    expect(await c.call('VSIM', 'vs', 'ELE', 'a', 'COUNT', '2')).toEqual(['a', 'b']);
    c.disconnect();

    await r.kill();
    expect(await refused(r.port)).toBe(true);
    await r.restart();
    const after = r.client();
    expect(await after.exists('vs')).toBe(0);
    expect(Number(/redis_version:(\d+)/.exec(await after.info('server'))?.[1])).toBeGreaterThanOrEqual(8);
    after.disconnect();
  });

  it('stop() is idempotent and leaves nothing listening', async () => {
    const r = await startRedis();
    await r.stop();
    await r.stop();
    expect(r.running).toBe(false);
    expect(await refused(r.port)).toBe(true);
    await expect(r.restart()).rejects.toThrow(/after stop/);
  });
});
