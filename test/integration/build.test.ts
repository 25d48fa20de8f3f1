/**
 * scripts/build.mjs (npm run build, and what `npm start`, `npm run scenario`
 * and the benchmarks run first): tsc only when src/ changed, so a second
 * `npm start` does not compile again; outputs whose source is gone are
 * removed. Checked on a small project of its own (a copy of the script and
 * the tsconfig files, two modules), not on the repository's dist/, which
 * other test files are using.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = mkdtempSync(join(tmpdir(), 'trunkgate-build-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

function build(): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(DIR, 'scripts', 'build.mjs')], { cwd: DIR, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Write a source file with an mtime in the future of every earlier build. */
function writeSource(path: string, text: string, secondsAhead: number): void {
  writeFileSync(join(DIR, path), text);
  const t = Date.now() / 1000 + secondsAhead;
  utimesSync(join(DIR, path), t, t);
}

describe('scripts/build.mjs', () => {
  it('compiles once; then does nothing while src/ is unchanged; again when a source changes or an output is missing; removes outputs of removed sources', () => {
    mkdirSync(join(DIR, 'scripts'));
    mkdirSync(join(DIR, 'src', 'b'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts', 'build.mjs'), join(DIR, 'scripts', 'build.mjs'));
    copyFileSync(join(ROOT, 'tsconfig.build.json'), join(DIR, 'tsconfig.build.json'));
    writeFileSync(join(DIR, 'tsconfig.json'), readFileSync(join(ROOT, 'tsconfig.json'), 'utf8').replace(/"include": \[[^\]]*\]/, '"include": ["src"]'));
    symlinkSync(join(ROOT, 'node_modules'), join(DIR, 'node_modules'));
    writeFileSync(join(DIR, 'package.json'), '{ "type": "module" }\n');
    writeSource('src/a.ts', "import { c } from './b/c.js';\nexport const a: number = c + 1;\n", 0);
    writeSource('src/b/c.ts', 'export const c: number = 1;\n', 0);

    const first = build();
    expect(first.status, first.out).toBe(0);
    expect(first.out).toContain('build: compiling (no build yet)');
    expect(readFileSync(join(DIR, 'dist', 'a.js'), 'utf8')).toContain('c + 1');
    expect(existsSync(join(DIR, 'dist', 'a.js.map'))).toBe(false);
    const builtAt = statSync(join(DIR, 'dist', 'a.js')).mtimeMs;

    const second = build();
    expect(second).toEqual({ status: 0, out: 'build: dist/ is up to date\n' });
    expect(statSync(join(DIR, 'dist', 'a.js')).mtimeMs).toBe(builtAt);

    writeSource('src/a.ts', "import { c } from './b/c.js';\nexport const a: number = c + 2;\n", 5);
    const changed = build();
    expect(changed.out).toContain('build: compiling (src/a.ts changed)');
    expect(readFileSync(join(DIR, 'dist', 'a.js'), 'utf8')).toContain('c + 2');

    // tsc's own incremental state still says b/c.js was written: the script starts it afresh
    rmSync(join(DIR, 'dist', 'b', 'c.js'));
    const missing = build();
    expect(missing.out).toContain('build: compiling (dist/b/c.js is missing)');
    expect(existsSync(join(DIR, 'dist', 'b', 'c.js'))).toBe(true);

    writeSource('src/a.ts', 'export const a: number = 3;\n', 10);
    rmSync(join(DIR, 'src', 'b'), { recursive: true });
    const removed = build();
    expect(removed.status, removed.out).toBe(0);
    expect(existsSync(join(DIR, 'dist', 'b'))).toBe(false);
    expect(build().out).toBe('build: dist/ is up to date\n');
  });

  it('is what npm start, npm run scenario and npm run bench build with', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['build']).toBe('node scripts/build.mjs');
    expect(scripts['prestart']).toMatch(/^node scripts\/build\.mjs\b/);
    expect(scripts['scenario']).toMatch(/^node scripts\/build\.mjs --quiet && node dist\/cli\.js scenario$/);
    expect(scripts['bench']).toMatch(/^node scripts\/build\.mjs\b/);
  });
});
