/**
 * @module test/helpers/redis-cluster: a throwaway Redis Cluster from Debian's redis-server 7 (or the Redis 8 of
 * test/setup/redis8.mjs): three masters and three replicas on free loopback ports, no persistence, a short node
 * timeout so that a killed master's replica takes over within a few seconds. Every node runs under setpriv --pdeathsig (as in redis-server.ts), so none outlives
 * the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { killOnExit, spawnTied } from './children.js';
import { freePort, serverCommand, type RedisServerOptions } from './redis-server.js';

const REDIS_CLI = '/usr/bin/redis-cli';
/** ms before a silent master is marked failed and its replica elected: short, for quick failover in tests. */
const NODE_TIMEOUT_MS = 1_000;

export interface ClusterNode {
  readonly port: number;
  readonly running: boolean;
}

export interface RedisClusterServer {
  /** every node's URL, comma-separated: what --redis-url takes with --redis-cluster */
  readonly url: string;
  readonly nodes: readonly ClusterNode[];
  /** ports of the nodes that are masters now (asked of a live node) */
  masters(): Promise<number[]>;
  /** the port of the master that serves `key`'s slot now */
  masterOf(key: string): Promise<number>;
  /** SIGKILL the master on `port`, then wait until a replica has taken over its slots and every live node says ok */
  killMaster(port: number): Promise<void>;
  /** a plain client to one node, for assertions */
  client(port: number): Redis;
  stop(): Promise<void>;
}

function spawnNode(port: number, dir: string, opts: RedisServerOptions): ChildProcess {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
    // A replica may take over however long its link was down: a test kills masters soon after start.
    '--cluster-replica-validity-factor', '0',
    '--repl-diskless-sync', 'yes',
    '--repl-diskless-sync-delay', '0',
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'warning',
    '--dir', dir,
  ];
  const cmd = serverCommand(opts, args);
  const { child, forget } = spawnTied(cmd.command, cmd.args, 'ignore');
  child.once('exit', () => forget());
  return child;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const forget = killOnExit(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      forget();
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** Poll `probe` every 50 ms until it is true; rejects with `what` after `timeoutMs`. */
async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function plain(port: number): Redis {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  c.on('error', () => {});
  return c;
}

/** Ask one node something, on a short-lived connection. */
async function ask<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = plain(port);
  try {
    return await f(c);
  } finally {
    c.disconnect();
  }
}

/** CLUSTER NODES as seen by the node on `port`: each node's port, whether it is a master, and whether it has failed. */
async function clusterNodes(port: number): Promise<Array<{ port: number; master: boolean; failed: boolean; slots: number }>> {
  const text = (await ask(port, (c) => c.call('CLUSTER', 'NODES'))) as string;
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      const flags = f[2]!.split(',');
      return { port: Number(/:(\d+)@/.exec(f[1]!)![1]), master: flags.includes('master'), failed: flags.includes('fail'), slots: f.length - 8 };
    });
}

/** Start three masters and three replicas, create the cluster, and wait until every node reports cluster_state:ok. */
/** @param opts `{ version: 8 }` for a cluster of Redis 8 nodes (vector sets); Debian's redis-cli 7 creates it alike */
export async function startRedisCluster(opts: RedisServerOptions = {}): Promise<RedisClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'reprise-cluster-'));
  const ports: number[] = [];
  while (ports.length < 6) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const children = new Map<number, ChildProcess>(ports.map((p) => [p, spawnNode(p, dir, opts)]));
  const alive = (p: number) => {
    const c = children.get(p);
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  };
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) await until(`node ${p} answering PING`, 10_000, () => ask(p, async (c) => (await c.ping()) === 'PONG'));
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    await until('cluster_state:ok on every node', 30_000, async () => {
      for (const p of ports) if (!((await ask(p, (c) => c.call('CLUSTER', 'INFO'))) as string).includes('cluster_state:ok')) return false;
      return true;
    });
    // Each replica must also know its master (a failover needs it), which CLUSTER NODES shows once the gossip settles.
    await until('three masters with slots and three replicas known to every node', 30_000, async () => {
      for (const p of ports) {
        const nodes = await clusterNodes(p);
        if (nodes.filter((n) => n.master && n.slots > 0).length !== 3 || nodes.filter((n) => !n.master).length !== 3) return false;
      }
      return true;
    });
    // A replica that has not finished its first sync cannot take over: wait until every link is up.
    await until('every replica in sync with its master', 30_000, async () => {
      for (const p of ports) {
        const info = (await ask(p, (c) => c.info('replication'))) as string;
        if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }

  const anyLive = () => ports.find(alive)!;
  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    nodes: ports.map((port) => ({ port, get running() { return alive(port); } })),
    async masters() {
      return (await clusterNodes(anyLive())).filter((n) => n.master && !n.failed && n.slots > 0).map((n) => n.port);
    },
    async masterOf(key: string) {
      const p = anyLive();
      const slot = (await ask(p, (c) => c.call('CLUSTER', 'KEYSLOT', key))) as number;
      const slots = (await ask(p, (c) => c.call('CLUSTER', 'SLOTS'))) as Array<[number, number, [string, number, string]]>;
      const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return range[2][1];
    },
    async killMaster(port: number) {
      const child = children.get(port);
      if (!child || !alive(port)) throw new Error(`no live node on ${port}`);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await exited;
      const live = ports.filter(alive);
      const view = () => ask(live[0]!, (c) => c.call('CLUSTER', 'NODES')).catch(String);
      await until(`a replica of ${port} promoted, and cluster_state:ok on every live node`, 30_000, async () => {
        for (const p of live) {
          if (!((await ask(p, (c) => c.call('CLUSTER', 'INFO'))) as string).includes('cluster_state:ok')) return false;
          const masters = (await clusterNodes(p)).filter((n) => n.master && !n.failed && n.slots > 0);
          if (masters.length !== 3 || masters.some((m) => m.port === port)) return false;
        }
        return true;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}; CLUSTER NODES:\n${String(await view())}`);
      });
    },
    client: plain,
    stop,
  };
}
