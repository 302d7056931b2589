#!/usr/bin/env node
// `npm test`: typecheck the whole workspace, then run every test with vitest.
// Extra arguments go to vitest (e.g. `npm test -- packages/common`).
// KPOP_TEST_JSON=FILE also writes vitest's JSON report there (used by .ci/run).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (n) => join(root, 'node_modules', '.bin', n);
const args = process.argv.slice(2);

console.error('[test] typecheck (tsc --noEmit)');
let r = spawnSync(bin('tsc'), ['-p', join(root, 'tsconfig.json'), '--noEmit'], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error('[test] typecheck failed');
  process.exit(r.status ?? 1);
}

const vitestArgs = ['run', ...args];
if (process.env.KPOP_TEST_JSON) {
  vitestArgs.push('--reporter=default', '--reporter=json', `--outputFile.json=${process.env.KPOP_TEST_JSON}`);
}
r = spawnSync(bin('vitest'), vitestArgs, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
