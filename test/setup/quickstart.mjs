#!/usr/bin/env node
/**
 * @module test/setup/quickstart: what `.ci/run` does on a clean clone. It takes the two commands of the README's
 * quick start as written there and proves them:
 * 1. `npm ci` prints no install-script or unknown-config warning (package.json's allowScripts covers every script);
 * 2. the first command starts the proxy on its embedded defaults, and it answers GET /healthz with 200;
 * 3. the second command, the test command, passes: its exit code is this script's.
 * The proxy gets a free port through PORT, since 8080 may be taken on a shared machine; nothing else is changed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (line) => process.stderr.write(`[quick start] ${line}\n`);
const HEALTH_TIMEOUT_MS = 180_000;

/** The commands of the README's first shell block under "## Quick start", comments cut off. */
export function quickStartCommands(readme) {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  const block = section && /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** npm's warnings that a clean install must not print. */
const INSTALL_WARNINGS = /npm warn (install-scripts|Unknown (project|user|global|env|cli) config)/i;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function checkCleanInstall() {
  say('npm ci (a clean install must print no install-script or unknown-config warning)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  process.stderr.write(out);
  if (r.status !== 0) throw new Error(`npm ci failed with ${r.status}`);
  const warned = out.split('\n').filter((l) => INSTALL_WARNINGS.test(l));
  if (warned.length > 0) throw new Error(`npm ci printed warnings:\n${warned.join('\n')}`);
}

/** Run the first command until /healthz answers 200, then stop it. */
async function checkStart(command) {
  const port = await freePort();
  say(`${command}   (PORT=${port})`);
  const child = spawn('bash', ['-c', command], { cwd: ROOT, env: { ...process.env, PORT: String(port) }, detached: true });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let health;
  try {
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        health = { status: res.status, body: await res.text() };
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  }
  if (health?.status !== 200) {
    process.stderr.write(out);
    throw new Error(`the proxy did not answer GET /healthz with 200 (last: ${health ? `${health.status} ${health.body}` : 'no answer'})`);
  }
  const warned = out.split('\n').filter((l) => INSTALL_WARNINGS.test(l));
  if (warned.length > 0) throw new Error(`the first command printed npm warnings:\n${warned.join('\n')}`);
  say(`the proxy answered /healthz: ${health.body}`);
}

async function main() {
  const commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  if (commands.length !== 2) throw new Error(`the quick start must be two commands; README.md has ${commands.length}: ${commands.join(' | ')}`);
  const [start, test] = commands;
  checkCleanInstall();
  await checkStart(start);
  say(test);
  const r = spawnSync('bash', ['-c', test], { cwd: ROOT, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    say(String(err.message ?? err));
    process.exit(1);
  });
}
