// Shared timing helper for benchmarks: runs fn until `ms` have passed (after a
// warm-up) and reports the mean µs per operation.
export function measure(name: string, fn: () => unknown, ms = 1000): number {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    t = performance.now();
  }
  const us = ((t - t0) * 1000) / n;
  console.log(`${name.padEnd(48)} ${us.toFixed(2).padStart(10)} µs/op  (${n} ops)`);
  return us;
}
