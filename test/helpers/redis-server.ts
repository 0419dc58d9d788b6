/**
 * @module test/helpers/redis-server: a throwaway `redis-server` per test file, on a free loopback port, with no
 * persistence. Tests can kill it (a crash) and restart it empty on the same port, to exercise reconnects. The system's
 * Redis (Debian 12: 7.0) by default; `{ version: 8 }` runs the Redis 8 that test/setup/redis8.mjs unpacked (vector sets).
 */
import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { redis8Command, redis8Paths } from '../setup/redis8.mjs';
import { spawnTied } from './children.js';

const REDIS_SERVER = '/usr/bin/redis-server';
/** The system Redis listens here; tests never touch it. */
const SYSTEM_PORT = 6379;

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** whether a redis-server of ours is running on the port right now */
  readonly running: boolean;
  /** SIGKILL the server (a crash) and wait until it has exited; the port then refuses connections */
  kill(): Promise<void>;
  /** start a new, empty server on the same port, as a crash-restart would; waits until it answers PING */
  restart(): Promise<void>;
  /** kill the server for good; idempotent */
  stop(): Promise<void>;
  /** a fresh ioredis client for assertions; fails fast instead of retrying while the server is down */
  client(): Redis;
}


/** A port that was free a moment ago (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port !== SYSTEM_PORT && port > 0) return port;
  }
}

/** One raw PING over TCP: true on +PONG. Raw, so no client library retries or logs in the way. */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

class AddressInUse extends Error {}

/** Which redis-server to run: the system's, or the Redis 8 of test/setup/redis8.mjs. */
export interface RedisServerOptions {
  /** @default the system's redis-server */
  version?: 8;
}

/** The command line of the chosen redis-server; the Redis 8 runs through its own dynamic loader. */
export function serverCommand(opts: RedisServerOptions, args: string[]): { command: string; args: string[] } {
  if (opts.version !== 8) return { command: REDIS_SERVER, args };
  if (!redis8Paths().exists) throw new Error('no Redis 8 in .cache/redis8: run node test/setup/redis8.mjs (npm test runs it first)');
  return redis8Command('server', args);
}

/** Spawn redis-server on `port` and wait until it answers PING; rejects with AddressInUse if the port is taken. */
async function spawnOn(port: number, opts: RedisServerOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'warning',
  ];
  const cmd = serverCommand(opts, args);
  const { child, forget } = spawnTied(cmd.command, cmd.args, ['ignore', 'pipe', 'pipe']);

  let log = '';
  const collect = (d: Buffer) => {
    if (log.length < 8_000) log += d.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    forget();
  });

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) {
      if (/address already in use/i.test(log)) throw new AddressInUse(`port ${port} is taken`);
      throw new Error(`redis-server on port ${port} exited at start-up:\n${log}`);
    }
    if (await ping(port, 200)) {
      child.stdout!.removeListener('data', collect);
      child.stderr!.removeListener('data', collect);
      child.stdout!.resume();
      child.stderr!.resume();
      return child;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${log}`);
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Start a fresh redis-server on a free loopback port (never 6379), without persistence.
 * @param port use this port instead of a free one (e.g. to start Redis where a client already waits)
 * @param opts `{ version: 8 }` for Redis 8 (vector sets)
 */
export async function startRedis(port?: number, opts: RedisServerOptions = {}): Promise<RedisServer> {
  let child: ChildProcess | undefined;
  let chosen = port;
  for (let attempt = 0; ; attempt++) {
    const p = chosen ?? (await freePort());
    try {
      child = await spawnOn(p, opts);
      chosen = p;
      break;
    } catch (err) {
      // Someone took the free port between our probe and redis-server's bind: pick another (unless it was given).
      if (!(err instanceof AddressInUse) || port !== undefined || attempt >= 10) throw err;
    }
  }
  const fixedPort = chosen!;
  const clients = new Set<Redis>();
  let stopped = false;

  return {
    url: `redis://127.0.0.1:${fixedPort}`,
    port: fixedPort,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      await killChild(child);
      child = undefined;
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await killChild(child);
      child = undefined;
      child = await spawnOn(fixedPort, opts);
    },
    async stop() {
      stopped = true;
      for (const c of clients) c.disconnect();
      clients.clear();
      await killChild(child);
      child = undefined;
    },
    client() {
      const c = new Redis(fixedPort, '127.0.0.1', {
        lazyConnect: false,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        retryStrategy: () => null,
        connectTimeout: 1_000,
      });
      c.on('error', () => {}); // assertions see rejected commands; unhandled 'error' events would only add noise
      clients.add(c);
      c.once('end', () => clients.delete(c));
      return c;
    },
  };
}

/** Whether a TCP connect to `port` on loopback is refused (nothing listens there). */
export async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** A free loopback port with nothing listening on it (yet). */
export { freePort };

export interface Relay {
  /** redis://127.0.0.1:<port> of the relay */
  readonly url: string;
  readonly port: number;
  /** hold every reply (a stalled or very slow Redis: connections stay open, answers stop coming) */
  pause(): void;
  /** deliver the held replies and forward again */
  resume(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay on loopback to `target`: it stands for a Redis that is unreachable (not yet listening), stalled
 * (paused), or reachable again.
 * @param port listen here instead of on a free port
 */
export async function startRelay(target: number, port?: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const held: Array<() => void> = [];
  let paused = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => (paused ? held.push(() => client.write(d)) : client.write(d)));
  });
  const listening = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  return {
    url: `redis://127.0.0.1:${listening}`,
    port: listening,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const send of held.splice(0)) send();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
