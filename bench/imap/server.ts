// bench/imap's server under test in a process of its own, as Dovecot's is,
// so that both servers' CPU is read the same way (/proc, ../pop3/cpu.ts) and
// `node --cpu-prof` can profile ours alone (IMAP_PROFILE=DIR). Argument: a
// JSON {root, realm, keytab}; prints the IMAP port on stdout; stops on
// SIGTERM or when stdin closes.
import { startPopServer } from '@kpop/kpop';

const { root, realm, keytab } = JSON.parse(process.argv[2]!) as { root: string; realm: string; keytab: string };
const server = await startPopServer({
  maildirRoot: root, realm, keytab, imap: { host: '127.0.0.1', port: 0 },
  log: (r) => { if (r.ok === false || r.event === 'error') process.stderr.write(JSON.stringify(r) + '\n'); },
});
process.stdout.write(`${server.imap!.port}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  // process.exit (not a signal death) so that --cpu-prof writes its profile.
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
