// POP3 load client for bench/pop3, in a worker thread (../client-harness.mjs).
// Plain JavaScript: the GSSAPI tokens were built by the main thread.
import { openSession, runClients } from '../client-harness.mjs';

function session(port, s) {
  return new Promise((resolve, reject) => {
    const { sock, fail, send } = openSession(port, s, reject);
    let buf = Buffer.alloc(0);
    let step = 'greeting';
    let n = 0;
    let bytes = 0;
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

await runClients(session);
