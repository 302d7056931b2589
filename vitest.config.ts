import { defineConfig } from 'vitest/config';

// The workspace's packages export their TypeScript sources under the
// "kpop-source" condition (and built JavaScript to everyone else; see
// scripts/build.mjs --lib). Tests import the sources; node processes that
// tests start (tsx on a src/bin file) inherit the condition through NODE_OPTIONS.
const sourceCondition = '--conditions=kpop-source';
if (!(process.env.NODE_OPTIONS ?? '').includes(sourceCondition)) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, sourceCondition].filter(Boolean).join(' ');
}

export default defineConfig({
  resolve: { conditions: ['kpop-source'] },
  ssr: { resolve: { conditions: ['kpop-source'], externalConditions: ['kpop-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
