// npm run docs:metrics — write docs/metrics.md from the metric table (src/metrics/definitions.ts).
import { writeFileSync } from 'node:fs';
import { renderMetricsDoc } from '../src/metrics/definitions.js';

const path = new URL('../docs/metrics.md', import.meta.url);
writeFileSync(path, renderMetricsDoc());
console.log(`wrote ${path.pathname}`);
