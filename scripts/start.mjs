#!/usr/bin/env node
// `npm start`: the suite's main job, the lab (packages/kpop/src/bin/lab.ts).
// Flags pass through: `npm start -- --reset`, `npm start -- --kdc-port 9888`
// (npm hands them to this script, and the lab reads process.argv).
// Without a built lab, print what the suite serves and which programs are built.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lab = join(root, 'packages', 'kpop', 'dist', 'bin', 'lab.js');
if (existsSync(lab)) {
  await import(lab);
} else {
  const built = [];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const d = join(root, 'packages', pkg, 'dist', 'bin');
    if (existsSync(d)) for (const f of readdirSync(d)) built.push(`npx ${f.replace(/\.js$/, '')}`);
  }
  console.log('kpop-suite: a Kerberos KDC, MIT-compatible kinit tools and a KPOP/POP3 server.');
  console.log('The lab realm (KDC on 127.0.0.1:8888, KPOP on 1109, POP3 on 1110, POP3S on 1995) is not built yet.');
  console.log(built.length ? `Programs built: ${built.join(', ')}` : 'No programs built yet.');
}
