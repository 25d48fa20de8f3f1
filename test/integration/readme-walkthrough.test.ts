/**
 * The README's five-minute walkthrough, run command by command, so it cannot
 * rot: each `<!-- walkthrough:gateway -->` block (re)starts the gateway the
 * way the README says, each `<!-- walkthrough:run expect="…" -->` block runs
 * and must exit 0 and print what the README promises. The README uses the
 * default ports, 127.0.0.1:5060 and :8080, so this test needs them free.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Step {
  kind: 'gateway' | 'run';
  expects: string[];
  commands: string[];
}

export function walkthroughSteps(readme: string): Step[] {
  const steps: Step[] = [];
  const marker = /<!-- walkthrough:(gateway|run)((?:\s+expect="(?:[^"\\]|\\.)*")*)\s*-->\s*\n```sh\n([\s\S]*?)```/g;
  for (let m = marker.exec(readme); m !== null; m = marker.exec(readme)) {
    const expects = [...(m[2] ?? '').matchAll(/expect="((?:[^"\\]|\\.)*)"/g)].map((e) => (e[1] as string).replace(/\\"/g, '"'));
    const commands = (m[3] as string)
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('#'));
    steps.push({ kind: m[1] as 'gateway' | 'run', expects, commands });
  }
  return steps;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** The README's ports: SIP on UDP and TCP 5060, HTTP on 8080. */
async function defaultPortsFree(): Promise<boolean> {
  return (await portFree(5060)) && (await udpPortFree(5060)) && (await portFree(8080));
}

let gateway: ChildProcess | undefined;
let gatewayOutput = '';

async function stopGateway(): Promise<void> {
  const g = gateway;
  gateway = undefined;
  if (g === undefined || g.exitCode !== null || g.pid === undefined) return;
  const exited = new Promise((resolve) => g.once('exit', resolve));
  process.kill(-g.pid, 'SIGINT'); // the process group we started: sh → npm → node
  await Promise.race([exited, new Promise((r) => setTimeout(r, 40_000))]);
  if (g.exitCode === null && g.signalCode === null) process.kill(-g.pid, 'SIGKILL');
  // The shell may exit before the gateway under it has closed its sockets: wait for the ports themselves.
  await waitFor(defaultPortsFree, { timeoutMs: 40_000, intervalMs: 100, what: 'the stopped gateway to free 127.0.0.1:5060 (UDP, TCP) and :8080' });
}

afterAll(stopGateway);

function run(command: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('README walkthrough', () => {
  const steps = walkthroughSteps(readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8'));

  it('has the walkthrough blocks (start, burst, metrics, trial restart, concurrency, a refused call\'s messages and pcap)', () => {
    expect(steps.map((s) => s.kind)).toEqual(['gateway', 'run', 'run', 'gateway', 'run', 'run']);
    expect(steps[0]?.commands).toEqual(['npm start']);
  });

  it('runs as written and prints what it promises', async () => {
    // Another test file running beside this one may hold a default port for a moment: wait a while,
    // then say who holds them.
    await waitFor(defaultPortsFree, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the default ports the README walkthrough uses, 127.0.0.1:5060 (SIP) and :8080 (HTTP), to be free',
      detail: () => spawnSync('ss', ['-Hlntup', '( sport = :5060 or sport = :8080 )'], { encoding: 'utf8' }).stdout ?? '',
    });
    for (const step of steps) {
      if (step.kind === 'gateway') {
        await stopGateway();
        gatewayOutput = '';
        const g = spawn('sh', ['-c', step.commands.join(' && ')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        g.stdout?.on('data', (d: Buffer) => (gatewayOutput += d.toString()));
        g.stderr?.on('data', (d: Buffer) => (gatewayOutput += d.toString()));
        gateway = g;
        await waitFor(
          async () => {
            if (g.exitCode !== null) throw new Error(`the gateway exited: ${gatewayOutput}`);
            try {
              return (await fetch('http://127.0.0.1:8080/readyz')).ok;
            } catch {
              return false;
            }
          },
          { timeoutMs: 60_000, intervalMs: 100, what: `\`${step.commands.join(' && ')}\` to be ready`, detail: () => gatewayOutput },
        );
        expect(gatewayOutput).toContain('trunks: demo.pstn.twilio.com');
        continue;
      }
      let output = '';
      for (const command of step.commands) {
        const r = await run(command);
        expect(r.code, `\`${command}\` exited ${r.code}:\n${r.output}`).toBe(0);
        output += r.output;
      }
      for (const e of step.expects) expect(output, `the output of \`${step.commands.join('; ')}\``).toContain(e);
    }
    await stopGateway();
  }, 240_000);
});
