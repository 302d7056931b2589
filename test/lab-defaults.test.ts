/**
 * The lab on its documented ports (KDC 8888, KPOP 1109, POP3 1110, POP3S
 * 1995) with no port flags, as `npm start` runs it, and fetchmail speaking
 * KPOP to it with tickets from OUR kinit. Both need things a shared test
 * machine cannot give to every test: fixed ports, and a `kpop` line in
 * /etc/services (fetchmail looks KPOP up by that name, protocols.md §2.2).
 * So the whole scene runs in private namespaces (`unshare -mn`: its own
 * loopback, and /etc/services bind-mounted with the line added), which
 * needs root; nothing on the host changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './fetch-helpers.js';
import { buildBins, hasProgram, run, type Bins } from './lab-helpers.js';
import { spawnSync } from 'node:child_process';

const canUnshare = hasProgram('unshare') && hasProgram('ip') && spawnSync('unshare', ['-mn', 'true'], { stdio: 'ignore' }).status === 0;
const hasFetchmail = hasProgram('fetchmail');

let bins: Bins;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir('kpop-lab-defaults-');
  bins = await buildBins();
}, 120_000);
afterAll(() => {
  bins?.cleanup();
  tmp?.cleanup();
});

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('the lab on its default ports, in a private network namespace', () => {
  it.skipIf(!canUnshare)('serves 8888/1109/1110/1995/8464; our kinit, kpop fetch and MIT kpasswd with no port flags (skipped without root for unshare -mn)', async () => {
    const d = tmp.dir;
    const script = `
set -u
ip link set lo up
node ${q(bins.lab)} --dir ${q(join(d, 'lab'))} --alice-password alice-pw-1 --bob-password bob-pw-1 --quiet > ${q(join(d, 'lab.out'))} 2>&1 &
LAB=$!
i=0; until grep -q 'Ctrl-C stops' ${q(join(d, 'lab.out'))} 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && { echo "lab did not start"; cat ${q(join(d, 'lab.out'))}; exit 9; }; sleep 0.1; done
export KRB5_CONFIG=${q(join(d, 'lab', 'krb5.conf'))} KRB5CCNAME=FILE:${q(join(d, 'cc'))} HOME=${q(d)}
echo alice-pw-1 | node ${q(bins.kinit)} alice; echo "kinit=$?"
node ${q(bins.kpop)} fetch --kpop --keep --out ${q(join(d, 'ours-kpop'))}; echo "kpop=$?"
node ${q(bins.kpop)} fetch --tls --cafile ${q(join(d, 'lab', 'ca', 'ca.pem'))} --port 1110 --out ${q(join(d, 'ours-stls.mbox'))}; echo "stls=$?"
printf 'alice-pw-1\nAlice-new-pw-2\nAlice-new-pw-2\n' | kpasswd alice; echo "kpasswd=$?"
echo Alice-new-pw-2 | node ${q(bins.kinit)} alice; echo "kinit2=$?"
kill -INT $LAB; wait $LAB; echo "lab=$?"
`;
    const r = await run('unshare', ['-mn', 'sh', '-c', script], { timeoutMs: 120_000 });
    const labOut = existsSync(join(d, 'lab.out')) ? readFileSync(join(d, 'lab.out'), 'utf8') : '';
    expect(r.stdout, r.stderr + labOut).toContain('kinit=0');
    expect(labOut).toContain('KDC    127.0.0.1:8888 (UDP and TCP)');
    expect(labOut).toContain('KPOP   127.0.0.1:1109');
    expect(labOut).toContain('POP3   127.0.0.1:1110');
    expect(labOut).toContain('POP3S  127.0.0.1:1995');
    expect(labOut).toContain('KPASSWD 127.0.0.1:8464');
    expect(readFileSync(join(d, 'lab', 'krb5.conf'), 'utf8')).toContain('kpasswd_server = 127.0.0.1:8464');
    // MIT's kpasswd finds the lab's kpasswd service through krb5.conf alone.
    expect(r.stdout).toContain('Password changed.');
    expect(r.stdout).toContain('kpasswd=0');
    expect(r.stdout).toContain('kinit2=0');
    expect(r.stdout).toContain('kpop=0');
    expect(r.stdout).toContain('stls=0');
    expect(r.stdout).toContain('lab=0');
    expect(readFileSync(join(d, 'ours-stls.mbox'), 'utf8')).toContain('Subject: Welcome to the LAB.TEST realm, alice');
    expect(labOut).toContain('kpop lab: stopped');
  }, 150_000);

  it.skipIf(!canUnshare || !hasFetchmail)('fetchmail -p KPOP --auth kerberos_v5 with our kinit\'s ccache (skipped without fetchmail, or without root for unshare -mn)', async () => {
    const d = join(tmp.dir, 'fm');
    const script = `
set -u
mkdir -p ${q(d)}
ip link set lo up
cp /etc/services ${q(join(d, 'services'))}
grep -q '^kpop' ${q(join(d, 'services'))} || echo 'kpop 1109/tcp' >> ${q(join(d, 'services'))}
mount --bind ${q(join(d, 'services'))} /etc/services
node ${q(bins.lab)} --dir ${q(join(d, 'lab'))} --alice-password alice-pw-1 --bob-password bob-pw-1 --quiet > ${q(join(d, 'lab.out'))} 2>&1 &
LAB=$!
i=0; until grep -q 'Ctrl-C stops' ${q(join(d, 'lab.out'))} 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && { echo "lab did not start"; exit 9; }; sleep 0.1; done
export KRB5_CONFIG=${q(join(d, 'lab', 'krb5.conf'))} KRB5CCNAME=FILE:${q(join(d, 'cc'))} HOME=${q(d)}
echo alice-pw-1 | node ${q(bins.kinit)} alice; echo "kinit=$?"
fetchmail -f /dev/null --nodetach --nosyslog -p KPOP --auth kerberos_v5 -u alice --sslproto '' -k -m "/bin/sh -c 'cat >> ${join(d, 'kpop.mbox')}'" -v localhost; echo "fetchmail=$?"
kill -INT $LAB; wait $LAB; echo "lab=$?"
`;
    const r = await run('unshare', ['-mn', 'sh', '-c', script], { timeoutMs: 120_000 });
    expect(r.stdout, r.stderr).toContain('kinit=0');
    // fetchmail's KPOP branch: sendauth, then USER and the fixed PASS it never checks (protocols.md §2.2).
    expect(r.stdout + r.stderr).toContain('POP3> PASS krb_ticket');
    expect(r.stdout + r.stderr).toMatch(/POP3< \+OK Logged in/);
    expect(r.stdout, r.stdout + r.stderr).toContain('fetchmail=0');
    expect(readFileSync(join(d, 'kpop.mbox'), 'utf8')).toContain('Subject: Welcome to the LAB.TEST realm, alice');
    expect(r.stdout).toContain('lab=0');
  });
});
