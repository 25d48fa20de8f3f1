/**
 * stunnel (Debian `stunnel4`) as the TLS end of a peer that speaks plain TCP:
 * SIPp in this Debian build has no TLS (`-t l1` says "compile SIPp with
 * OpenSSL"), so its TCP traffic is carried over a real TLS connection by
 * stunnel — as a client (SIPp → stunnel → trunkgate's tls:// listener) or as a
 * server (trunkgate → stunnel → a SIPp carrier). Foreground, its own temp dir,
 * stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './sipp.js';
import { waitFor } from './wait-for.js';

export interface StunnelOptions {
  /** client: accept plain TCP, connect with TLS; server: accept TLS, connect plain TCP. */
  mode: 'client' | 'server';
  /** Where it connects: `127.0.0.1:PORT`. */
  connect: string;
  /** Server mode: the certificate and key it presents (PEM files). */
  cert?: string;
  key?: string;
}

export interface Stunnel {
  /** The port it accepts on, on 127.0.0.1. */
  port: number;
  /** What it logged. */
  log(): string;
  stop(): Promise<void>;
}

export async function startStunnel(options: StunnelOptions): Promise<Stunnel> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-stunnel-'));
  const conf = join(dir, 'stunnel.conf');
  const lines = ['foreground = yes', 'pid =', 'debug = notice', '[sip]', `client = ${options.mode === 'client' ? 'yes' : 'no'}`, `accept = 127.0.0.1:${port}`, `connect = ${options.connect}`];
  if (options.mode === 'client') lines.push('verifyChain = no', 'sslVersionMin = TLSv1.2');
  else lines.push(`cert = ${options.cert ?? ''}`, `key = ${options.key ?? ''}`);
  writeFileSync(conf, lines.join('\n') + '\n');
  const child: ChildProcess = spawn('stunnel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`stunnel exited: ${out}`);
      return out.includes('Configuration successful');
    },
    { timeoutMs: 10_000, what: 'stunnel to start', detail: () => out },
  );
  return {
    port,
    log: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
