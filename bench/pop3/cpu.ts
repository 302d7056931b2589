// CPU time of a server under the bench/pop3 load, read from /proc, because on
// a shared 2-core machine wall-clock msg/s swings by 2× from run to run while
// CPU time per message does not: it says how much work each server does.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 1 / 100; // USER_HZ: 100 on Linux

/** utime, stime, cutime, cstime (seconds) and ppid of /proc/<pid>/stat. */
function stat(path: string): { self: number; children: number; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) * TICK, children: (Number(f[13]) + Number(f[14])) * TICK };
}

/**
 * Seconds of CPU used by a process and all its children, living or reaped
 * (Dovecot: the master, its login/auth processes and one pop3 process per
 * session, which the master reaps when the session ends).
 */
export function treeCpuSeconds(root: number): number {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    const s = stat(`/proc/${e}/stat`);
    if (s) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), Number(e)]);
  }
  let total = 0;
  const walk = (pid: number) => {
    const s = stat(`/proc/${pid}/stat`);
    if (!s) return;
    total += s.self + s.children;
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return total;
}

/** The calling thread's CPU seconds (ours: the event loop, without the thread pool or GC helpers). */
export function threadCpuSeconds(): number {
  return stat('/proc/thread-self/stat')!.self;
}
