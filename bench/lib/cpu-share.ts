/**
 * @module bench/lib/cpu-share: what else used the CPU while a measurement ran (Linux /proc; elsewhere, nothing).
 * On a shared machine a throughput figure means little without it: `const done = cpuShare(); ...; done()` gives the
 * cores this process used, the cores everything else used, and the other processes that used the most.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux) */
const HZ = 100;

export interface CpuShare {
  seconds: number;
  cores: number;
  /** average cores busy over the interval: all processes, this one (all its threads), and the rest */
  busy: number;
  self: number;
  others: number;
  /** the other processes that used the most CPU, with the cores each used on average */
  top: Array<{ pid: number; command: string; cores: number }>;
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    // idle and iowait
    return { busy: total - f[3]! - (f[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** CPU ticks (user + system) by pid, with the command line, for every process we may read. */
function processTicks(): Map<number, { ticks: number; command: string }> {
  const out = new Map<number, { ticks: number; command: string }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields start after the last ')'. utime, stime are 14, 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const command = (cmdline || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))).slice(0, 120);
      out.set(Number(pid), { ticks, command });
    } catch {}
  }
  return out;
}

/** Start counting; the function returned stops and reports. */
export function cpuShare(topN = 5): () => CpuShare | undefined {
  const t0 = performance.now();
  const m0 = machineTicks();
  const p0 = processTicks();
  const self0 = process.cpuUsage();
  return () => {
    const m1 = machineTicks();
    if (!m0 || !m1) return undefined;
    const seconds = (performance.now() - t0) / 1000;
    const selfUsage = process.cpuUsage(self0);
    const self = (selfUsage.user + selfUsage.system) / 1e6 / seconds;
    const cores = (m1.total - m0.total) / HZ / seconds;
    const busy = (m1.busy - m0.busy) / HZ / seconds;
    const top: CpuShare['top'] = [];
    for (const [pid, p] of processTicks()) {
      if (pid === process.pid) continue;
      // A process that started during the interval counts from zero.
      const ticks = p.ticks - (p0.get(pid)?.ticks ?? 0);
      if (ticks > 0) top.push({ pid, command: p.command, cores: ticks / HZ / seconds });
    }
    top.sort((a, b) => b.cores - a.cores);
    return { seconds, cores, busy, self, others: Math.max(0, busy - self), top: top.slice(0, topN) };
  };
}
