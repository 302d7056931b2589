// CPU time of another process from /proc/PID/stat (utime + stime, fields 14
// and 15, in clock ticks), and finding a process by program name and one of
// its environment variables (how the bench finds the krb5kdc it started).
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / clockTicks();
}

/** The pid of a running `program` whose environment has key=value, if any. */
export function findPid(program: string, key: string, value: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (!cmd.endsWith(program)) continue;
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      if (env.includes(`${key}=${value}`)) return Number(d);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

export interface CpuTimes {
  user: number;
  system: number;
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User and system CPU seconds of one process. */
export function cpuTimes(pid: number): CpuTimes {
  const rest = statFields(pid);
  return { user: Number(rest[11]) / clockTicks(), system: Number(rest[12]) / clockTicks() };
}

/** pid and its descendants now (a KDC's workers). */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parentOf.set(Number(d), Number(statFields(Number(d))[1]));
    } catch {
      // Gone.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parentOf) if (pp === tree[i]) tree.push(p);
  return tree;
}

/** CPU per process of a tree, keyed by pid (a process that exits meanwhile keeps its last reading). */
export function treeCpu(pids: number[]): Map<number, CpuTimes> {
  const m = new Map<number, CpuTimes>();
  for (const p of pids) {
    try {
      m.set(p, cpuTimes(p));
    } catch {
      // Exited.
    }
  }
  return m;
}
