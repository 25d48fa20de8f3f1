/**
 * A real Redis server (Debian package redis-server) for a test: on 127.0.0.1,
 * a free port, its own temp dir, no persistence (no RDB, no AOF), stopped by
 * PID. It can be stopped and started again on the same port (a restart loses
 * everything, as a Redis without persistence does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freeTcpPort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** A client for the test itself (closed by stop()). */
  client(): Redis;
  /** Stop the server (SIGTERM, then SIGKILL after 5 s); its data is gone. */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
  /** Stop it for good and remove its folder. */
  dispose(): Promise<void>;
}

export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  const port = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-redis-'));
  let child: ChildProcess | undefined;
  let stderr = '';
  const clients: Redis[] = [];
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${auth}127.0.0.1:${port}`;

  async function start(): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
    if (options.password !== undefined) args.push('--requirepass', options.password);
    const c = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited ${c.exitCode}: ${stderr}`);
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 10_000, intervalMs: 20, what: `redis-server on port ${port}`, detail: () => stderr },
    );
  }

  async function stop(): Promise<void> {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    process.kill(c.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    port,
    url,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    client() {
      const c = new Redis(url, { maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    stop,
    start,
    async dispose() {
      for (const c of clients) c.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
