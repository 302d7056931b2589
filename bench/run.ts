// `pnpm bench`: runs every benchmark in bench/*/index.ts, or those named:
// `pnpm bench der crypto`.
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const all = readdirSync(here, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(here, e.name, 'index.ts')))
  .map((e) => e.name)
  .sort();
// Long runs only when named: `pnpm bench soak` (30 minutes by default).
const OPT_IN = new Set(['soak']);
const chosen = wanted.length ? all.filter((n) => wanted.includes(n)) : all.filter((n) => !OPT_IN.has(n));
if (chosen.length === 0) {
  console.error(`bench: nothing to run (available: ${all.join(', ') || 'none'})`);
  process.exit(1);
}
for (const name of chosen) {
  console.log(`\n## bench/${name}`);
  await import(pathToFileURL(join(here, name, 'index.ts')).href);
}
