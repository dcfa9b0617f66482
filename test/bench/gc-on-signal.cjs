// Preloaded into every server under test (`node --expose-gc --require gc-on-signal.cjs ...`), the same
// way for each, so the harness can force a full GC before it samples memory: heap and RSS figures then
// measure what the connections keep alive, not how far the collector happened to have got.
// Each collection is acknowledged on stderr so the harness waits for the GC, not for a guessed delay.
'use strict';

process.on('SIGUSR2', () => {
  if (typeof global.gc !== 'function') {
    process.stderr.write('bench-gc unavailable (start node with --expose-gc)\n');
    return;
  }
  const t0 = process.hrtime.bigint();
  global.gc();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stderr.write(`bench-gc ${ms.toFixed(1)} ms heapUsed ${process.memoryUsage().heapUsed}\n`);
});
