/**
 * Run one of the test's own Node scripts (test/support/flood.mjs, udp-probe.mjs) as a child
 * process, bounded in time, and read the JSON object it prints at the end.
 */
import { spawn } from 'node:child_process';

export function runNodeScript<T = Record<string, number>>(file: string, args: readonly string[], seconds: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as T);
    });
  });
}
