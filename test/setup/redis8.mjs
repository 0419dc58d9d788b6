#!/usr/bin/env node
/**
 * @module test/setup/redis8: a Redis 8 (with vector sets) for the tests of server-side search, on a machine whose own
 * distribution ships an older Redis (Debian 12 has 7.0). It fetches Debian 13 (trixie)'s redis-server and the
 * libraries it links with through apt, with an apt configuration of its own (its own sources list, state, lists and
 * cache, all under .cache/redis8/; the system's apt sources are never read or changed), unpacks the .debs with
 * `dpkg -x` into .cache/redis8/root, and runs the binary through trixie's own dynamic loader from that folder, so
 * nothing of the system's libc is mixed in. Nothing is installed on the system.
 *
 * Idempotent: once unpacked (a stamp names the packages), it only checks that the binary answers --version.
 * Plain Node with no dependencies, so test/setup/prepare.mjs can run it on a fresh clone.
 *
 *   node test/setup/redis8.mjs          fetch if needed, then print the server's version
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where everything lives; .cache/ is gitignored. */
export const REDIS8_DIR = join(ROOT, '.cache', 'redis8');
const MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'trixie';
/** Debian's name of this machine's architecture, and the dynamic loader's path inside a merged-/usr trixie. */
const ARCHES = {
  x64: { deb: 'amd64', triplet: 'x86_64-linux-gnu', loader: 'usr/lib64/ld-linux-x86-64.so.2' },
  arm64: { deb: 'arm64', triplet: 'aarch64-linux-gnu', loader: 'usr/lib/ld-linux-aarch64.so.1' },
};
/**
 * redis-server, redis-cli and every library they load (from `ld.so --list`), libc and its loader included: the
 * loader of one glibc with the libc of another does not run.
 */
const PACKAGES = [
  'redis-server', 'redis-tools', 'libc6', 'libgcc-s1', 'libstdc++6', 'libatomic1', 'libjemalloc2', 'liblzf1',
  'libssl3t64', 'libsystemd0', 'libcap2', 'zlib1g', 'libzstd1',
];
const STAMP = `${SUITE} ${PACKAGES.join(' ')}\n`;

const say = (line) => process.stderr.write(`[redis 8] ${line}\n`);

/** The paths to run the unpacked Redis 8 with; `exists` says whether it has been unpacked. */
export function redis8Paths() {
  const arch = ARCHES[process.arch];
  const root = join(REDIS8_DIR, 'root');
  const libraryPath = arch ? [join(root, 'lib', arch.triplet), join(root, 'usr', 'lib', arch.triplet)].join(':') : '';
  const loader = arch ? join(root, arch.loader) : '';
  const server = join(root, 'usr', 'bin', 'redis-server');
  const cli = join(root, 'usr', 'bin', 'redis-cli');
  const stamp = join(root, '.reprise-stamp');
  const exists = arch !== undefined && existsSync(loader) && existsSync(server) && existsSync(stamp) && readFileSync(stamp, 'utf8') === STAMP;
  return { root, loader, libraryPath, server, cli, exists };
}

/**
 * How to spawn one of the unpacked programs: the loader is the command, the program its argument. `--argv0` keeps
 * the program's own name in argv[0]: redis-server is a symlink to redis-check-rdb and picks its role by that name.
 */
export function redis8Command(program, args = []) {
  const p = redis8Paths();
  const path = program === 'cli' ? p.cli : p.server;
  const name = program === 'cli' ? 'redis-cli' : 'redis-server';
  return { command: p.loader, args: ['--library-path', p.libraryPath, '--argv0', name, path, ...args] };
}

/** The unpacked server's version (e.g. "8.0.2"), or undefined when it does not run. */
export function redis8Version() {
  const { command, args } = redis8Command('server', ['--version']);
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return /v=(\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1];
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr ?? ''}`);
  return r.stdout;
}

/** apt with nothing of the system's configuration but its trusted keys: every Dir it uses is under `aptDir`. */
function aptConfig(aptDir, arch) {
  for (const d of ['etc/preferences.d', 'etc/apt.conf.d', 'lists/partial', 'cache/archives/partial', 'state']) mkdirSync(join(aptDir, d), { recursive: true });
  // trixie's archive keys ship in Debian 12's debian-archive-keyring; without them apt refuses the lists.
  const keys = ['stable', 'automatic'].map((k) => `/usr/share/keyrings/debian-archive-${SUITE}-${k}.gpg`).filter((k) => existsSync(k));
  const signedBy = keys.length > 0 ? ` [signed-by=${keys.join(',')}]` : '';
  writeFileSync(join(aptDir, 'etc', 'sources.list'), `deb${signedBy} ${MIRROR} ${SUITE} main\n`);
  if (!existsSync(join(aptDir, 'state', 'status'))) writeFileSync(join(aptDir, 'state', 'status'), '');
  const conf = join(aptDir, 'etc', 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::Etc::SourceList "${join(aptDir, 'etc', 'sources.list')}";`,
      'Dir::Etc::SourceParts "-";',
      `Dir::Etc::Parts "${join(aptDir, 'etc', 'apt.conf.d')}";`,
      `Dir::Etc::Preferences "${join(aptDir, 'etc', 'preferences')}";`,
      `Dir::Etc::PreferencesParts "${join(aptDir, 'etc', 'preferences.d')}";`,
      `Dir::State "${join(aptDir, 'state')}";`,
      `Dir::State::Lists "${join(aptDir, 'lists')}";`,
      `Dir::State::status "${join(aptDir, 'state', 'status')}";`,
      `Dir::Cache "${join(aptDir, 'cache')}";`,
      `Dir::Cache::Archives "${join(aptDir, 'cache', 'archives')}";`,
      `APT::Architecture "${arch.deb}";`,
      `APT::Architectures { "${arch.deb}"; };`,
      // Our own dirs need no lock against the system's apt, and root may write them without the _apt sandbox user.
      'Debug::NoLocking "true";',
      'APT::Sandbox::User "root";',
      '',
    ].join('\n'),
  );
  return { APT_CONFIG: conf };
}

/** Fetch and unpack Redis 8 unless it is already there; returns its version. Throws with the reason when it cannot. */
export function ensureRedis8() {
  const arch = ARCHES[process.arch];
  if (process.platform !== 'linux' || !arch) throw new Error(`Redis 8 from Debian ${SUITE} needs Linux on x64 or arm64, not ${process.platform}/${process.arch}`);
  if (redis8Paths().exists) {
    const v = redis8Version();
    if (v) return v;
    say('the unpacked Redis 8 does not run; fetching it again');
  }
  for (const tool of ['apt-get', 'dpkg']) if (!existsSync(`/usr/bin/${tool}`)) throw new Error(`fetching Redis 8 needs /usr/bin/${tool} (Debian or Ubuntu)`);

  say(`fetching redis-server 8 from Debian ${SUITE} into ${REDIS8_DIR} (apt with its own sources and state there; the system's apt is untouched)`);
  const env = aptConfig(join(REDIS8_DIR, 'apt'), arch);
  run('apt-get', ['update', '-qq'], env);
  const debs = join(REDIS8_DIR, 'debs');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  const r = spawnSync('apt-get', ['download', '-qq', ...PACKAGES], { cwd: debs, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`apt-get download failed:\n${r.stderr}`);

  // Unpack beside the old tree, then swap, so an interrupted run never leaves a half tree that looks complete.
  const { root } = redis8Paths();
  const fresh = `${root}.new`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  for (const f of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg', ['-x', join(debs, f), fresh]);
  writeFileSync(join(fresh, '.reprise-stamp'), STAMP);
  rmSync(root, { recursive: true, force: true });
  renameSync(fresh, root);
  // The lists and apt's caches (about 180 MB) are only needed to fetch; a later fetch runs apt-get update anyway.
  rmSync(debs, { recursive: true, force: true });
  rmSync(join(REDIS8_DIR, 'apt'), { recursive: true, force: true });

  const v = redis8Version();
  if (!v) throw new Error(`the unpacked redis-server does not run through ${redis8Paths().loader}`);
  if (Number(v.split('.')[0]) < 8) throw new Error(`Debian ${SUITE} gave redis-server ${v}, not 8 or later`);
  say(`redis-server ${v} ready`);
  return v;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${ensureRedis8()}\n`);
  } catch (err) {
    say(String(err.message ?? err));
    process.exit(1);
  }
}
