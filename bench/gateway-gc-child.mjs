// The gateway in a process of its own, started with --expose-gc, for memory figures that do not
// count garbage: it loads the configuration file given, starts, and prints "listening" (as the
// command line does); each line "measure" on stdin runs a full GC and prints the process's memory
// as one JSON line. bench/clients.mjs drives it.
import { createInterface } from 'node:readline';
import { loadConfigFile } from '../dist/config/load.js';
import { createGateway } from '../dist/gateway.js';

const result = loadConfigFile(process.argv[2]);
if (!result.ok) {
  console.error(JSON.stringify(result.problems));
  process.exit(1);
}
const gateway = createGateway({ config: result.config });
await gateway.start();
console.log('listening');
const stop = async () => {
  await gateway.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'measure') return;
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  console.log(JSON.stringify({ measure: { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss } }));
});
