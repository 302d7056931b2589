/**
 * kill -9 of the POP3 server during QUIT (retrieve-and-delete, as fetchmail
 * and mpop do it without --keep): a box of numbered messages; the client
 * RETRs each (keeping those it received whole), DELEs each, sends QUIT; the
 * server is killed at a random moment from just before QUIT to a while
 * after (mostly inside UPDATE, RFC 1939 §6, while it unlinks). Asserted by
 * the caller: every message is still in the Maildir whole, or the client
 * fetched it whole (nothing lost), and nothing in new/ or cur/ is partial.
 * Run by test/listeners-hostile.test.ts (3 trials) and `pnpm bench
 * reliability` (RELIABILITY_TRIALS).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliver } from '@kpop/kpop';
import { rng } from '@kpop/kdc';
import { PopClient, tempDir } from './kpop-helpers.js';

const here = import.meta.dirname;
export const QUIT_PASSWORD = 'Quit-crash-pw-41d2';
const body = (i: number): string => `Subject: quit trial ${i}\n\n${'q'.repeat(200 + ((i * 7919) % 20_000))}\nend of ${i}\n`;

export interface QuitCrashResult { trials: number; messages: number; fetched: number; leftInBox: number; lost: number; partial: number; quitAnswered: number }

export async function quitCrashTrials(trials: number, seed: number, perBox = 60): Promise<QuitCrashResult> {
  const r = rng(seed);
  const res: QuitCrashResult = { trials, messages: 0, fetched: 0, leftInBox: 0, lost: 0, partial: 0, quitAnswered: 0 };
  for (let t = 0; t < trials; t++) {
    const tmp = tempDir('quit-crash-');
    const box = join(tmp.dir, 'alice');
    for (let i = 0; i < perBox; i++) await deliver(box, Buffer.from(body(i)));
    res.messages += perBox;
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'pop-child.ts'), tmp.dir, QUIT_PASSWORD], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(here, '..') });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((res) => child.once('exit', res));
    while (!out.includes('\n')) await new Promise((res) => setTimeout(res, 5));
    const fetched = new Set<number>();
    const c = await PopClient.connect(Number(out.trim()));
    try {
      await c.line();
      await c.cmd('USER alice');
      if (!/^\+OK/.test(await c.cmd(`PASS ${QUIT_PASSWORD}`))) throw new Error('login refused');
      const n = Number((await c.cmd('STAT')).split(' ')[1]);
      for (let i = 1; i <= n; i++) {
        if (!/^\+OK/.test(await c.cmd(`RETR ${i}`))) continue;
        const text = (await c.multi()).join('\n') + '\n';
        const m = /^Subject: quit trial (\d+)\n/.exec(text);
        if (m && text === body(Number(m[1]))) fetched.add(Number(m[1]));
        await c.cmd(`DELE ${i}`);
      }
      // Kill from 2 ms before QUIT to 40 ms after it.
      const delay = r(42);
      if (delay < 2) {
        child.kill('SIGKILL');
        await exited;
      }
      c.send('QUIT\r\n');
      if (delay >= 2) {
        await new Promise((res) => setTimeout(res, delay - 2));
        child.kill('SIGKILL');
      }
      if (await c.line(2000).catch(() => '')) res.quitAnswered++;
    } catch {
      // the kill ended the session: the check below decides
    }
    child.kill('SIGKILL');
    await exited;
    c.close();
    const inBox = new Set<number>();
    for (const sub of ['new', 'cur']) {
      for (const f of readdirSync(join(box, sub))) {
        const text = readFileSync(join(box, sub, f), 'latin1');
        const m = /^Subject: quit trial (\d+)\n/.exec(text);
        if (!m || text !== body(Number(m[1]))) res.partial++;
        else inBox.add(Number(m[1]));
      }
    }
    for (let i = 0; i < perBox; i++) if (!inBox.has(i) && !fetched.has(i)) res.lost++;
    res.fetched += fetched.size;
    res.leftInBox += inBox.size;
    tmp.cleanup();
  }
  return res;
}
