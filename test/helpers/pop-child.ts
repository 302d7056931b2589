// Child of the kill -9 during QUIT trials (test/quit-crash.ts): a POP3 server
// on MAILDIR_ROOT with USER/PASS for alice; prints its port once listening,
// then serves until it is killed.
import { writeSync } from 'node:fs';
import { SaslError, startPopServer } from '@kpop/kpop';

const root = process.argv[2]!;
const password = process.argv[3]!;
const server = await startPopServer({
  maildirRoot: root, realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, allowPlaintextAuth: true, log: () => {},
  verifyPassword: async (user, pw) => {
    if (user === 'alice' && pw === password) return { name: { nameType: 1, nameString: ['alice'] }, realm: 'LAB.TEST' };
    throw new SaslError('bad password');
  },
});
writeSync(1, `${server.pop3!.port}\n`);
