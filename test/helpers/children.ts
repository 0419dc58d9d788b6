/** @module test/helpers/children: servers the tests start as child processes die with the test process. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/** With it, the kernel kills the server when this process dies, even by SIGKILL: no orphan outlives a test run. */
const SETPRIV = '/usr/bin/setpriv';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILL `child` if this process exits first; returns what forgets it once it has exited on its own. */
export function killOnExit(child: ChildProcess): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  return () => live.delete(child);
}

/**
 * Start `command` as a server tied to this process: under setpriv --pdeathsig where there is one, and killed on exit
 * either way. Returns the child and what forgets it once it has exited on its own.
 */
export function spawnTied(command: string, args: string[], stdio: StdioOptions): { child: ChildProcess; forget: () => void } {
  const child = existsSync(SETPRIV) ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', command, ...args], { stdio }) : spawn(command, args, { stdio });
  return { child, forget: killOnExit(child) };
}
