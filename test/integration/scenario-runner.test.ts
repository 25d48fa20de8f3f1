/**
 * `npm run scenario`: the pack's runner against a running gateway. Its report
 * must match the configured limits (verdict PASS, exit 0), and it must exit
 * non-zero when reality and the prediction disagree.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNNER = new URL('../../scripts/scenario.mjs', import.meta.url).pathname;

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

function runner(g: Gateway, args: string[]): Promise<{ code: number | null; output: string }> {
  const http = g.httpAddress;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER, ...args, '--target', sipTarget(g), '--http', `${http?.host}:${http?.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function trunk(extra: Record<string, unknown>): Record<string, unknown> {
  return { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin', ...extra };
}

describe('npm run scenario', () => {
  it('cps-burst: offered, admitted, refused by reason, the prediction, and PASS', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 2 } })] });
    const r = await runner(gateway, ['cps-burst', '--rate', '10', '--calls', '30']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/offered\s+30 at 10\/s/);
    expect(r.output).toMatch(/admitted\s+\d+/);
    expect(r.output).toMatch(/\d+\s+503 Trunk CPS limit exceeded/);
    expect(r.output).toMatch(/prediction\s+CPS 2 \(token-bucket, burst 2\)/);
    expect(r.output).toContain('verdict      PASS');
    const admitted = Number(/admitted\s+(\d+)/.exec(r.output)?.[1]);
    expect(admitted).toBe(gateway.frontDoor.stats.admitted);
  });

  it('concurrency-hold against a trunk cap of 2: PASS, refusals are the concurrency 503', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, maxConcurrentCalls: 2 })] });
    const r = await runner(gateway, ['concurrency-hold', '--rate', '10', '--calls', '20', '--hold-ms', '1000']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/\d+\s+503 Trunk concurrent call limit exceeded/);
    expect(r.output).toContain('concurrency 2 at once');
    expect(r.output).toContain('verdict      PASS');
  });

  it.each([
    ['options-ping', ['--calls', '3']],
    ['cancel-ringing', ['--calls', '3', '--rate', '5']],
    ['basic-call', ['--calls', '3', '--rate', '5']],
  ])('%s: PASS', async (name, args) => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    const r = await runner(gateway, [name, ...args]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('verdict      PASS');
  });

  it('exits non-zero with the reason when reality and the prediction disagree', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    // numbers the limits don't explain the refusals of: not E.164
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-numbers-'));
    const csv = join(dir, 'bad.csv');
    writeFileSync(csv, 'SEQUENTIAL\n4155550123;+14155550100;\n');
    const r = await runner(gateway, ['cps-burst', '--calls', '3', '--rate', '5', '--numbers', csv]);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('verdict      FAIL');
    expect(r.output).toContain('400 Invalid Phone Number');
  });

  it('says how to point it at the gateway when the admin API is not there', async () => {
    const r = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [RUNNER, 'cps-burst', '--http', '127.0.0.1:9'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (code) => resolve({ code, output }));
    });
    expect(r.code).toBe(2);
    expect(r.output).toContain('Is the gateway running? Use --http');
  });
});
