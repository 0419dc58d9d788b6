#!/usr/bin/env node
/**
 * @module test/setup/prepare: the first step of `npm test`. It makes sure this machine has what the suite needs:
 * the npm dependencies, and the system programs the tests start for real (see REQUIREMENTS). What is missing is
 * installed with apt-get (as root, or through sudo), after saying which packages and why. Where that cannot be done,
 * it stops with a message that names each package and how to get it: the suite never skips a test for want of one.
 *
 * Plain Node with no dependencies, so it runs on a fresh clone before `npm ci`.
 * REPRISE_NO_INSTALL=1 only checks, and fails with the same message instead of installing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRedis8, redis8Paths, redis8Version } from './redis8.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What the tests run for real, how to tell it is here, and the Debian/Ubuntu packages that provide it.
 * `check` returns true when the requirement is met.
 */
export const REQUIREMENTS = [
  {
    name: 'redis-server',
    why: 'the Redis store tests start their own redis-server on free ports, and kill it to test faults',
    apt: ['redis-server'],
    check: () => existsSync('/usr/bin/redis-server'),
  },
  {
    name: 'python3 with onnx and numpy',
    why: 'the transformers.js tests load a tiny ONNX model that test/fixtures/tiny-model generates with /usr/bin/python3',
    apt: ['python3-onnx', 'python3-numpy'],
    check: () => run('/usr/bin/python3', ['-c', 'import onnx, numpy'], { quiet: true }).status === 0,
  },
  {
    name: 'prometheus and promtool',
    why: 'the Prometheus tests scrape Reprise with a real Prometheus; promtool checks the alerting rules and the exposition',
    apt: ['prometheus'],
    check: () => existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool'),
  },
  {
    name: 'chromium',
    why: 'the dashboard is tested in a real headless Chromium (/usr/bin/chromium), driven by playwright-core',
    apt: ['chromium'],
    check: () => existsSync('/usr/bin/chromium'),
  },
];

function run(cmd, args, { quiet = false, env } = {}) {
  const r = spawnSync(cmd, args, { stdio: quiet ? 'ignore' : 'inherit', env: env ?? process.env, cwd: ROOT });
  return { status: r.error ? -1 : r.status };
}

const say = (line) => process.stderr.write(`[test setup] ${line}\n`);

/** How to become root for apt-get: nothing, sudo without a password prompt, or not at all. */
function rootPrefix() {
  if (process.getuid?.() === 0) return [];
  if (run('sudo', ['-n', 'true'], { quiet: true }).status === 0) return ['sudo', '-n'];
  return undefined;
}

function fail(missing, reason) {
  say(`cannot run the whole suite: ${reason}`);
  for (const r of missing) say(`  missing: ${r.name} (Debian/Ubuntu: ${r.apt.join(' ')}): ${r.why}`);
  say(`install them with: sudo apt-get install -y ${missing.flatMap((r) => r.apt).join(' ')}`);
  say('then run npm test again.');
  process.exit(1);
}

function ensureSystemPackages() {
  const missing = REQUIREMENTS.filter((r) => !r.check());
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((r) => r.apt))];
  if (process.env.REPRISE_NO_INSTALL === '1') fail(missing, 'REPRISE_NO_INSTALL=1 is set, so nothing is installed');
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) fail(missing, 'there is no apt-get here to install them with');
  const prefix = rootPrefix();
  if (!prefix) fail(missing, 'installing needs root or sudo without a password prompt');

  say(`installing ${packages.join(', ')} with apt-get, because:`);
  for (const r of missing) say(`  ${r.name}: ${r.why}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [cmd, ...pre] = [...prefix, 'apt-get'];
  const apt = (args) => run(cmd, [...pre, ...args], { env });
  if (apt(['update', '-qq']).status !== 0) say('apt-get update failed; trying the install with the package lists as they are');
  if (apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]).status !== 0) fail(missing, 'apt-get install failed');
  const still = REQUIREMENTS.filter((r) => !r.check());
  if (still.length > 0) fail(still, 'they are still missing after apt-get install');
}

/** A fresh clone has no node_modules yet: install exactly what package-lock.json pins. */
function ensureNodeModules() {
  if (existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) return;
  say('no node_modules yet: running npm ci');
  if (run('npm', ['ci', '--no-audit', '--no-fund']).status !== 0) {
    say('npm ci failed; the suite cannot run without its npm dependencies');
    process.exit(1);
  }
}

/**
 * The server-side search tests need Redis 8 (vector sets), which Debian 12 does not ship: test/setup/redis8.mjs
 * unpacks Debian 13's into .cache/redis8 with an apt of its own (the system's apt sources stay as they are).
 */
function ensureRedis8Server() {
  if (redis8Paths().exists && redis8Version()) return;
  if (process.env.REPRISE_NO_INSTALL === '1') {
    say('cannot run the whole suite: REPRISE_NO_INSTALL=1 is set, and Redis 8 is not in .cache/redis8 yet');
    say('  the server-side vector search tests need redis-server 8 (vector sets): node test/setup/redis8.mjs fetches it');
    process.exit(1);
  }
  try {
    ensureRedis8();
  } catch (err) {
    say(`cannot run the whole suite: ${err.message ?? err}`);
    say('  the server-side vector search tests need redis-server 8 (vector sets); test/setup/redis8.mjs fetches it from Debian 13');
    process.exit(1);
  }
}

ensureSystemPackages();
ensureRedis8Server();
ensureNodeModules();
