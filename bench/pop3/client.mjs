// POP3 load client for bench/pop3, run in a worker thread so that the
// server under test does not share an event loop with its clients. Plain
// JavaScript: the GSSAPI tokens were built by the main thread.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

function session(port, s) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let step = 'greeting';
    let n = 0;
    let bytes = 0;
    const send = (l) => sock.write(l + '\r\n');
    const fail = (why) => {
      sock.destroy();
      reject(new Error(`${s.user}: ${why}`));
    };
    sock.on('error', (e) => fail(e.message));
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (step === 'retr') {
          // A multi-line response ends with CRLF.CRLF.
          if (buf.length < 5 || buf.toString('latin1', buf.length - 5) !== '\r\n.\r\n') return;
          bytes += buf.length;
          buf = Buffer.alloc(0);
          if (++n === s.count) {
            step = 'quit';
            send('QUIT');
          } else send(`RETR ${n + 1}`);
          return;
        }
        const i = buf.indexOf('\r\n');
        if (i === -1) return;
        const line = buf.toString('latin1', 0, i);
        buf = buf.subarray(i + 2);
        if (step !== 'quit' && line.startsWith('-ERR')) return fail(line);
        switch (step) {
          case 'greeting': step = 'auth'; send('AUTH GSSAPI'); break;
          case 'auth': step = 'token'; send(s.token); break;
          case 'token': step = 'answer'; send(s.answer); break;
          case 'answer': step = 'retr'; send('RETR 1'); break;
          case 'quit': sock.end(); resolve(bytes); return;
        }
      }
    });
  });
}

// This thread's own CPU (utime + stime, USER_HZ = 100), so that the bench
// can subtract the client's work from the process's.
function threadCpu() {
  const t = readFileSync('/proc/thread-self/stat', 'latin1');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const c0 = threadCpu();
const t0 = performance.now();
const bytes = await Promise.all(workerData.sessions.map((s) => session(workerData.port, s)));
parentPort.postMessage({ ms: performance.now() - t0, bytes: bytes.reduce((a, b) => a + b, 0), clientCpu: threadCpu() - c0 });
