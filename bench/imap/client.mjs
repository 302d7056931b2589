// IMAP load client for bench/imap, in a worker thread (../client-harness.mjs).
// Each session: AUTHENTICATE GSSAPI with the token as SASL-IR (as curl, mutt
// and mbsync send it), the answer to the layer offer, SELECT INBOX, then
// either one UID FETCH n (BODY.PEEK[]) per message (mode "bodies") or one
// FETCH 1:* (UID FLAGS) (mode "flags"), and LOGOUT.
import { openSession, runClients } from '../client-harness.mjs';

function session(port, s, { mode }) {
  return new Promise((resolve, reject) => {
    const { sock, fail, send } = openSession(port, s, reject);
    let buf = Buffer.alloc(0);
    let step = 'greeting';
    let n = 0;
    let bytes = 0;
    let tag = 0;
    const cmd = (l) => send(`a${++tag} ${l}`);
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
              step = 'listed';
              cmd('FETCH 1:* (UID FLAGS)');
            } else {
              step = 'fetch';
              cmd(`UID FETCH ${++n} (BODY.PEEK[])`);
            }
            break;
          case 'fetch':
            if (n === s.count) {
              step = 'bye';
              cmd('LOGOUT');
            } else cmd(`UID FETCH ${++n} (BODY.PEEK[])`);
            break;
          case 'listed':
            if (bytes < s.count * 20) return fail(`FETCH 1:* answered only ${bytes} bytes`);
            step = 'bye';
            cmd('LOGOUT');
            break;
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

await runClients(session);
