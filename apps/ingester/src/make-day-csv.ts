import { writeDayCsv } from './day-csv';

// Writes a day of simulated ticks for REPLAY_FILE (see README, "Seeding candle history"):
//   node dist/make-day-csv.js <file> [symbols=20] [ticksPerSecond=20]
async function main(): Promise<void> {
  const [file, symbols = '20', rate = '20'] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/make-day-csv.js <file> [symbols=20] [ticksPerSecond=20]\n');
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  const ticks = await writeDayCsv(file, { symbols: Number(symbols), ratePerSec: Number(rate) });
  process.stdout.write(`${file}: ${ticks} ticks of ${symbols} symbols in ${Date.now() - started} ms\n`);
}

void main();
