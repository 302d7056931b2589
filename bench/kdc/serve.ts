// Our KDC as a child process for the benchmark: opens a realm made by
// index.ts and serves it on 127.0.0.1:PORT (UDP and TCP), logging one JSON
// line per request to a file, as MIT's krb5kdc logs to its FILE: target.
// The per-address request budget (1000/s by default) would cap a load
// generator on one address, so bench/kdc turns it off (KDC_REQUEST_LIMITS=off)
// to measure the exchanges themselves; bench/limits keeps it on.
import { openSync } from 'node:fs';
import { batchedFdLogger, openDatabase, startKdcServer } from '@kpop/kdc';

const [dir, logFile] = process.argv.slice(2);
if (!dir || !logFile) {
  process.stderr.write('usage: serve.ts DBDIR LOGFILE\n');
  process.exit(2);
}
const db = openDatabase(dir);
const log = batchedFdLogger(openSync(logFile, 'a', 0o600));
const server = await startKdcServer({ store: db, listen: [{ host: '127.0.0.1', port: 0 }], log, ...(process.env.KDC_REQUEST_LIMITS === 'off' ? { requests: false as const } : {}) });
process.stdout.write(`READY ${server.udp[0]!.port}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => {
    db.close();
    process.exit(0);
  });
});
