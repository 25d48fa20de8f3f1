#!/usr/bin/env node
// npm run build (and prestart, prepare, scenario, bench): compile src/ to dist/ with tsc, but only
// when something changed. dist/ is current when every src/**/*.ts has its dist/**/*.js and no
// file under src/ or the tsconfig files is newer than dist/.build-stamp; then this exits at once
// (a second `npm start` starts in about a second instead of waiting for tsc). After compiling,
// outputs whose source is gone are removed, so dist/ (and the npm package) holds only what
// src/ makes.
//
//   node scripts/build.mjs [--quiet] [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.build-stamp');
const BUILD_INFO = join(DIST, '.tsbuildinfo');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'].map((f) => join(ROOT, f));

let opt;
try {
  ({ values: opt } = parseArgs({ options: { quiet: { type: 'boolean', default: false }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`build: ${err.message}; usage: node scripts/build.mjs [--quiet] [--force]`);
  process.exit(2);
}
if (opt.help) {
  console.log('usage: node scripts/build.mjs [--quiet] [--force]\ncompiles src/ to dist/ with tsc when dist/ is not current');
  process.exit(0);
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const inputs = () => [...walk(SRC), ...CONFIGS];

/** dist/x/y.js for src/x/y.ts */
const outputOf = (ts) => join(DIST, relative(SRC, ts)).replace(/\.ts$/, '.js');

function current() {
  if (!existsSync(STAMP)) return 'no build yet';
  const missing = walk(SRC).find((f) => f.endsWith('.ts') && !existsSync(outputOf(f)));
  if (missing !== undefined) return `${relative(ROOT, outputOf(missing))} is missing`;
  const stamp = statSync(STAMP).mtimeMs;
  const newer = inputs().find((f) => statSync(f).mtimeMs > stamp);
  if (newer !== undefined) return `${relative(ROOT, newer)} changed`;
  return undefined;
}

const why = opt.force ? '--force' : current();
if (why === undefined) {
  if (!opt.quiet) console.log('build: dist/ is up to date');
  process.exit(0);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error(`build: dist/ needs building (${why}), but TypeScript is not installed: run npm install (it is a dev dependency)`);
  process.exit(1);
}
// an output missing while tsc's incremental state says all is emitted: start tsc afresh
if (why.endsWith('is missing') || opt.force) rmSync(BUILD_INFO, { force: true });
if (!opt.quiet) console.log(`build: compiling (${why}) …`);
const compileStarted = Date.now();
const newestBefore = inputs().map((f) => statSync(f).mtimeMs);
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build: tsc failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}

// what src/ no longer makes: old .js of removed sources, source maps and declarations of earlier builds
const wanted = new Set(walk(SRC).filter((f) => f.endsWith('.ts')).map(outputOf));
for (const file of walk(DIST)) {
  if (file === STAMP || file === BUILD_INFO || wanted.has(file)) continue;
  rmSync(file);
}
for (const dir of walk(DIST).length === 0 ? [] : dirsBottomUp(DIST)) {
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}
// the stamp is dated when tsc started (a source saved while it ran is newer: built next time), or
// as the newest input if that is later (a file dated in the future)
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
// (plus 1 ms: seconds as a float do not carry every nanosecond back through utimes, and a stamp a
// hair older than the file it was dated from would make that file look changed)
const stampTime = (Math.max(compileStarted, ...newestBefore) + 1) / 1000;
utimesSync(STAMP, stampTime, stampTime);

function dirsBottomUp(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) out.push(...dirsBottomUp(join(dir, entry.name)), join(dir, entry.name));
  return out;
}
