/**
 * The Docker image, really built and run: scripts/container-smoke.mjs
 * makes a base image from Debian packages (mmdebstrap, `podman import`; no
 * registry is needed), builds docker/Dockerfile on it with podman, starts the
 * container, checks /healthz and the image's own HEALTHCHECK, completes a SIPp
 * call over UDP and one over TCP, and stops it (SIGTERM, exit 0). Once with
 * host networking and a mounted config, once with published ports and the
 * image's own config.
 *
 * Needs root (or a working rootless podman), podman, runc where crun cannot run
 * containers (a cgroup v1/v2 hybrid), mmdebstrap, sip-tester, and the Debian
 * mirror and the npm registry. Slow: about 90 s the first time (base image
 * ~35 s, image build ~45 s), about 12 s per run once the base image and the
 * build cache are there. The script exits 3 when this machine cannot build or
 * run containers; that fails here too, with podman's own error. It runs in the
 * vitest project `container`, alone, after the other integration tests.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/container-smoke.mjs', import.meta.url));

function smoke(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the container image (podman, no registry)', () => {
  it('builds, runs with host networking and a mounted config, is healthy, completes SIPp calls over UDP and TCP, and stops cleanly', async () => {
    const r = await smoke(['--network', 'host']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('the gateway counts 2 answered calls');
  }, 900_000);

  it('the same with published ports (-p 127.0.0.1:…) and the image’s own config', async () => {
    const r = await smoke(['--network', 'bridge']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('the gateway counts 2 answered calls');
  }, 300_000);
});
