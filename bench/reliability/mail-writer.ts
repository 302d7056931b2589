// Child of the delivery crash trials in index.ts: delivers numbered messages
// of 1 to 200 KB into the Maildir BOX and prints each number once deliver()
// has returned (the message is in new/), until it is killed (kill -9).
import { writeSync } from 'node:fs';
import { deliver } from '@kpop/kpop';

const box = process.argv[2]!;
for (let i = 0; ; i++) {
  const body = `Subject: crash trial ${i}\n\n${'z'.repeat(1000 + ((i * 7919) % 200_000))}\nend of ${i}\n`;
  await deliver(box, Buffer.from(body));
  writeSync(1, `${i}\n`);
}
