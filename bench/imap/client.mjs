// IMAP load client for bench/imap, in a worker thread (the server under test
// keeps its own event loop). Each session: AUTHENTICATE GSSAPI with the
// token as SASL-IR (as curl, mutt and mbsync send it), the answer to the
// layer offer, SELECT INBOX, then either one UID FETCH n (BODY.PEEK[]) per
// message (mode "bodies") or one FETCH 1:* (UID FLAGS) (mode "flags").
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

function session(port, s, mode) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let step = 'greeting';
    let n = 0;
    let bytes = 0;
    let tag = 0;
    const send = (l) => sock.write(`${l}\r\n`);
    const cmd = (l) => send(`a${++tag} ${l}`);
    const fail = (why) => {
      sock.destroy();
      reject(new Error(`${s.user}: ${why}`));
    };
    sock.on('error', (e) => fail(e.message));
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (step === 'greeting' || step === 'offer') {
          const i = buf.indexOf('\r\n');
          if (i === -1) return;
          const line = buf.toString('latin1', 0, i);
          buf = buf.subarray(i + 2);
          if (step === 'greeting') {
            step = 'offer';
            cmd(`AUTHENTICATE GSSAPI ${s.token}`);
          } else {
            if (!line.startsWith('+')) return fail(line);
            step = 'auth';
            send(s.answer);
          }
          continue;
        }
        // Wait for the tagged reply: the buffer ends with "aN ...\r\n".
        if (buf.length < 2 || buf[buf.length - 1] !== 0x0a) return;
        const last = buf.lastIndexOf('\r\n', buf.length - 3);
        const line = buf.toString('latin1', last === -1 ? 0 : last + 2, buf.length - 2);
        if (!line.startsWith(`a${tag} `)) return;
        if (!line.startsWith(`a${tag} OK`)) return fail(line);
        bytes += buf.length;
        buf = Buffer.alloc(0);
        switch (step) {
          case 'auth': step = 'select'; cmd('SELECT INBOX'); break;
          case 'select':
            if (mode === 'flags') {
              step = 'done';
              cmd('FETCH 1:* (UID FLAGS)');
            } else {
              step = 'fetch';
              cmd(`UID FETCH ${++n} (BODY.PEEK[])`);
            }
            break;
          case 'fetch':
            if (n === s.count) {
              step = 'done';
              cmd('LOGOUT');
            } else cmd(`UID FETCH ${++n} (BODY.PEEK[])`);
            break;
          case 'done':
            if (mode === 'flags' && !line.includes('LOGOUT')) {
              step = 'bye';
              cmd('LOGOUT');
              break;
            }
            sock.end();
            resolve(bytes);
            return;
          case 'bye':
            sock.end();
            resolve(bytes);
            return;
        }
        return;
      }
    });
  });
}

function threadCpu() {
  const t = readFileSync('/proc/thread-self/stat', 'latin1');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const c0 = threadCpu();
const t0 = performance.now();
const bytes = await Promise.all(workerData.sessions.map((s) => session(workerData.port, s, workerData.mode)));
parentPort.postMessage({ ms: performance.now() - t0, bytes: bytes.reduce((a, b) => a + b, 0), clientCpu: threadCpu() - c0 });
