/**
 * @module test/helpers/worker-front: the Worker (src/worker.ts) as a front of the behaviour suite, run in workerd
 * with Miniflare, locally and offline, on a free port.
 *
 * - The bundle: test/fixtures/workers/behaviour-entry.ts (src/worker.ts's fetch with the stand-in bindings), built
 *   with esbuild once per process into the temp dir and reused by every start, with wrangler.toml's Text rules (the
 *   dashboard's uPlot files inlined as strings) and its compatibility date and flags.
 * - The socket: the Worker's own (Miniflare's unsafeDirectSockets), not Miniflare's entry worker in front of it:
 *   through that one, a pass-through stream reached the client only once upstream had finished, and a client's
 *   disconnect never reached the Worker.
 * - The bindings: KV `CACHE` and the `STATS` Durable Object simulated by Miniflare, in memory, fresh per start;
 *   `AI` embeds through the test's own embedder (an EMBED service binding back to this process); `VECTORS` is the
 *   Vectorize stand-in.
 * - The settings: every Config value that differs from its default, as the env var the Worker reads (the same names
 *   as on Node), plus a TENANT_SECRET made up per start when the config has none (the Worker caches nothing
 *   without one), and CACHE_THRESHOLD = the test embedder's calibrated threshold unless the config sets one, so a
 *   semantic hit needs what it needs on the other fronts. EMBED_MODEL names the test's embedder.
 *
 * What `Running` can give of a process that is not this one: `url`, `port`, `ready`, `close`, and a `store` whose
 * size() and purge({}) reach the Worker's own store (through control requests, see the entry). `metrics` and
 * `inFlight` live in workerd and throw when used: the behaviour files the Worker runs do not use them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { Miniflare, type Request as MiniflareRequest, type Response as MiniflareResponse } from 'miniflare';
import { OPTIONS, parseConfig, type Config, type OptionName } from '../../src/config.js';
import { EXACT_ONLY } from '../../src/embed/exact-only.js';
import type { Embedder } from '../../src/embed/types.js';
import type { Running, StartOptions } from '../../src/node/server.js';
import type { Metrics } from '../../src/observe/metrics.js';
import type { Candidate, Entry, PurgeFilter, Store } from '../../src/store/types.js';
import { syncFetch } from './sync-fetch.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = join(ROOT, 'test/fixtures/workers/behaviour-entry.ts');
const CONTROL_HEADER = 'x-front-control';

interface WranglerBits {
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** the globs of the Text rules */
  textGlobs: string[];
}

/** What the bundle and the runtime need from wrangler.toml's top level: read, so that both follow it. */
function wranglerBits(): WranglerBits {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  // The top level ends at the first table header.
  const top = toml.slice(0, toml.search(/^\s*\[/m));
  const strings = (list: string) => [...list.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(top)?.[1];
  if (!compatibilityDate) throw new Error('wrangler.toml: no compatibility_date');
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(top)?.[1];
  const textGlobs = toml
    .split(/^\s*\[\[rules\]\]\s*$/m)
    .slice(1)
    .map((block) => {
      const end = block.search(/^\s*\[/m);
      return end < 0 ? block : block.slice(0, end);
    })
    .filter((block) => /^type\s*=\s*"Text"/m.test(block))
    .flatMap((block) => strings(/^globs\s*=\s*\[([^\]]*)\]/m.exec(block)?.[1] ?? ''));
  return { compatibilityDate, compatibilityFlags: flags ? strings(flags) : [], textGlobs };
}

/** A glob of wrangler's rules (`**` any folders, `*` any name part) as a RegExp over an absolute path. */
function globRegExp(glob: string): RegExp {
  const body = glob
    .split(/(\*\*\/|\*)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`(?:^|/)${body}$`);
}

/** wrangler's Text rule: a matching module is its file's text, as a default-exported string. */
function textRules(globs: string[]): Plugin {
  const patterns = globs.map(globRegExp);
  return {
    name: 'wrangler-text-rules',
    setup(b) {
      b.onLoad({ filter: /.*/ }, (args) => (patterns.some((p) => p.test(args.path)) ? { contents: readFileSync(args.path, 'utf8'), loader: 'text' } : undefined));
    },
  };
}

let bundled: Promise<{ path: string; bits: WranglerBits }> | undefined;

/**
 * The entry's bundle, built once per process and kept in the temp dir under the hash of its bytes: every start
 * reuses it, and processes that build the same bundle share one file.
 */
function bundle(): Promise<{ path: string; bits: WranglerBits }> {
  bundled ??= (async () => {
    const bits = wranglerBits();
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      // as wrangler resolves packages for workerd
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      // Node's APIs that workerd provides itself under nodejs_compat, as wrangler leaves them (worker/native-hash.ts)
      external: ['node:*'],
      plugins: [textRules(bits.textGlobs)],
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.contents;
    const dir = join(tmpdir(), 'reprise-worker-front');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${createHash('sha256').update(code).digest('hex').slice(0, 32)}.mjs`);
    if (!existsSync(path)) {
      // Written aside and renamed, so that another process never reads it half-written.
      const aside = `${path}.${process.pid}.tmp`;
      writeFileSync(aside, code);
      renameSync(aside, path);
    }
    return { path, bits };
  })();
  return bundled;
}

const DEFAULTS = parseConfig({}, {});

/** A Config value as its env var's text; undefined: not set. */
function asVar(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/** The Worker's vars for `config`: every setting that is not at its default, by the env var the Worker reads. */
export function workerVars(config: Config, embedder: Embedder | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    if (JSON.stringify(config[name]) === JSON.stringify(DEFAULTS[name])) continue;
    const text = asVar(config[name]);
    if (text !== undefined) vars[OPTIONS[name].env] = text;
  }
  // Required on the Worker: without it nothing is cached.
  vars.TENANT_SECRET ??= randomBytes(24).toString('hex');
  if (embedder) {
    vars.CACHE_THRESHOLD ??= String(embedder.defaultThreshold);
    vars.EMBED_MODEL = embedder.id;
  }
  return vars;
}

/** Answers the entry's AI stand-in: Workers AI's `{ shape, data }`, from the test's embedder. */
async function embedAnswer(request: MiniflareRequest, embedder: Promise<Embedder>): Promise<Response> {
  try {
    const { inputs } = (await request.json()) as { inputs: { text?: unknown } };
    const texts = inputs.text;
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) return new Response('the AI stand-in embeds { text: string[] } only', { status: 400 });
    const e = await embedder;
    const vectors = await e.embed(texts);
    return Response.json({ shape: [vectors.length, vectors[0]?.length ?? e.dim], data: vectors.map((v) => Array.from(v)) });
  } catch (err) {
    return new Response(String((err as Error)?.message ?? err), { status: 500 });
  }
}

/** Metrics live in workerd: asked for in this process, they throw. */
const REMOTE_METRICS = new Proxy({} as Metrics, {
  get(_, key) {
    if (typeof key === 'symbol' || key === 'then' || key === 'toJSON') return undefined;
    throw new Error(`metrics.${key}: the Worker's metrics live in workerd; read them from /metrics or /stats`);
  },
});

/** The Worker's store as far as it can be reached from outside: its size, and a purge of everything. */
class WorkerFrontStore implements Store {
  readonly status = 'ready' as const;

  constructor(
    private readonly url: string,
    private readonly secret: string,
  ) {}

  size(): number {
    const res = syncFetch(`${this.url}/size`, { headers: { [CONTROL_HEADER]: this.secret } });
    if (res.status !== 200) throw new Error(`worker front: size answered ${res.status}: ${res.text}`);
    return (JSON.parse(res.text) as { size: number }).size;
  }

  async purge(filter: PurgeFilter): Promise<number> {
    if (Object.values(filter).some((v) => v !== undefined)) throw new Error('worker front: only purge({}) is reachable from outside; purge by a filter through /admin/purge');
    const res = await fetch(`${this.url}/purge`, { method: 'POST', headers: { [CONTROL_HEADER]: this.secret } });
    if (!res.ok) throw new Error(`worker front: purge answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { deleted: number }).deleted;
  }

  private unreachable(what: string): never {
    throw new Error(`worker front: store.${what} is not reachable from outside the Worker`);
  }
  getExact(): Promise<Entry | undefined> {
    return this.unreachable('getExact');
  }
  search(): Promise<Candidate[]> {
    return this.unreachable('search');
  }
  put(): Promise<void> {
    return this.unreachable('put');
  }
  putOver(): Promise<boolean> {
    return this.unreachable('putOver');
  }
  delete(): Promise<boolean> {
    return this.unreachable('delete');
  }
}

/** Start the Worker in workerd for `config`. Of `opts`, the embedder is used (logger, now, store, statsShareMs cannot reach workerd). */
export async function startWorkerFront(config: Config, opts: StartOptions = {}): Promise<Running> {
  const embedder = opts.embedder === undefined ? undefined : Promise.resolve(opts.embedder);
  const e = await embedder;
  const { path, bits } = await bundle();
  const secret = randomBytes(16).toString('hex');
  const mf = new Miniflare({
    modules: true,
    scriptPath: path,
    modulesRoot: dirname(path),
    compatibilityDate: bits.compatibilityDate,
    compatibilityFlags: bits.compatibilityFlags,
    host: '127.0.0.1',
    port: 0,
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    kvNamespaces: ['CACHE'],
    durableObjects: { STATS: 'StatsObject' },
    // In memory: no run shares state with another.
    kvPersist: false,
    durableObjectsPersist: false,
    cachePersist: false,
    bindings: { ...workerVars(config, e), FRONT_CONTROL: secret },
    // Without an embedder the Worker runs without Workers AI: exact-only.
    ...(embedder && { serviceBindings: { EMBED: async (request: MiniflareRequest) => (await embedAnswer(request, embedder)) as unknown as MiniflareResponse } }),
  });
  let url: URL;
  try {
    await mf.ready;
    url = await mf.unsafeGetDirectURL();
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
  const origin = url.origin;
  return {
    url: origin,
    port: Number(url.port),
    metrics: REMOTE_METRICS,
    store: new WorkerFrontStore(origin, secret),
    // Without an embedder the Worker keys everything exact-only.
    ready: Promise.resolve(e ?? EXACT_ONLY),
    inFlight() {
      throw new Error("inFlight: the Worker's requests are counted in workerd");
    },
    async close() {
      await mf.dispose();
    },
  };
}
