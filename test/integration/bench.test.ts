/**
 * bench/run.mjs as a command: unknown flags are refused, --help lists the
 * benchmarks, and an interrupted benchmark leaves no process behind (the
 * gateway and the SIPp it started are stopped). Speed itself is measured by
 * `npm run bench`, never here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN = join(ROOT, 'bench', 'run.mjs');

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [RUN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The live (not zombie) child processes of `pid`, with their command names. */
function childrenOf(pid: number): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return out;
  for (const tid of readdirSync(tasks)) {
    let text: string;
    try {
      text = readFileSync(`${tasks}/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    for (const c of text.split(' ').filter(Boolean)) {
      const child = Number(c);
      if (alive(child)) out.push({ pid: child, comm: readFileSync(`/proc/${child}/comm`, 'utf8').trim() });
    }
  }
  return out;
}

/** A process that exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('npm run bench', () => {
  it('refuses an unknown flag or benchmark with one line, exit 2', () => {
    const flag = bench('--quik');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe("bench: unknown option '--quik'; see npm run bench -- --help\n");
    const name = bench('--quick', 'parsing');
    expect(name.status).toBe(2);
    expect(name.stderr).toMatch(/^bench: unknown benchmark "parsing"; known: parse, answer-rate, /);
  });

  it('--help lists the benchmarks and --quick, exit 0', () => {
    const r = bench('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--quick');
    for (const name of ['parse', 'answer-rate', 'b2bua-rate', 'admission-latency', 'rejections', 'scrape-cost', 'memory-per-call']) expect(r.stdout).toContain(`  ${name} `);
  });

  it('interrupted while its gateway and SIPp run: it stops both, then exits', async () => {
    const proc = spawn(process.execPath, [RUN, '--quick', 'answer-rate'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const pid = proc.pid as number;
    // both running: the gateway (node) and SIPp
    const seen = await waitFor(
      () => {
        const kids = childrenOf(pid);
        return kids.some((k) => k.comm === 'sipp') && kids.some((k) => k.comm.startsWith('node')) ? kids : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'the benchmark to start its gateway and SIPp', detail: () => output },
    );
    process.kill(pid, 'SIGTERM');
    expect(await exited).toBe(130);
    expect(output).toMatch(/bench: SIGTERM: stopping the 2 process\(es\) it started/);
    await waitFor(() => seen.every((k) => !alive(k.pid)), { timeoutMs: 5000, intervalMs: 50, what: 'the benchmark’s children to be gone', detail: () => JSON.stringify(seen) });
  });
});
