/**
 * docker/healthcheck.mjs, the image's HEALTHCHECK: it asks /healthz on the port
 * of the configuration the gateway runs with (--config, --http-listen), not on
 * a port written into the Dockerfile. Its --print mode shows the URL it would
 * ask for a gateway command line. (The image's own command line against the
 * docker config: test/integration/docker-files.test.ts; in a real container:
 * test/integration/container-smoke.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'docker', 'healthcheck.mjs');
const DOCKER_CONFIG = join(ROOT, 'docker', 'trunkgate.docker.yaml');
const dir = mkdtempSync(join(tmpdir(), 'trunkgate-healthcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function urlFor(args: string[], cwd = ROOT): { status: number | null; url: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, '--print', '--', ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, url: r.stdout.trim(), stderr: r.stderr };
}

/** The docker config with http.listen changed. */
function configListeningOn(listen: string): string {
  const text = readFileSync(DOCKER_CONFIG, 'utf8');
  const changed = text.replace(/^(\s*listen:\s*)"0\.0\.0\.0:8080"/m, `$1"${listen}"`);
  expect(changed).not.toBe(text);
  const file = join(dir, `${listen.replace(/\W/g, '_')}.yaml`);
  writeFileSync(file, changed);
  return file;
}

describe('docker/healthcheck.mjs', () => {
  it('asks the http.listen port of the --config file, on loopback for a wildcard address', () => {
    expect(urlFor(['--config', DOCKER_CONFIG]).url).toBe('http://127.0.0.1:8080/healthz');
    expect(urlFor(['--config', configListeningOn('0.0.0.0:18080')]).url).toBe('http://127.0.0.1:18080/healthz');
    expect(urlFor([`--config=${configListeningOn('[::]:18081')}`]).url).toBe('http://[::1]:18081/healthz');
    expect(urlFor(['--config', configListeningOn('127.0.0.2:18082')]).url).toBe('http://127.0.0.2:18082/healthz');
  });

  it('follows --http-listen over the file, and the built-in config without --config', () => {
    expect(urlFor(['--config', DOCKER_CONFIG, '--http-listen', '0.0.0.0:9100']).url).toBe('http://127.0.0.1:9100/healthz');
    expect(urlFor(['--http-listen=127.0.0.1:9101', '--log-level', 'debug']).url).toBe('http://127.0.0.1:9101/healthz');
    expect(urlFor([]).url).toBe('http://127.0.0.1:8080/healthz');
  });

  it('resolves a relative --config against the gateway’s working folder', () => {
    expect(urlFor(['--config', 'docker/trunkgate.docker.yaml'], ROOT).url).toBe('http://127.0.0.1:8080/healthz');
  });

  it('fails, saying why, on a config it cannot read or that is invalid', () => {
    const missing = urlFor(['--config', join(dir, 'nope.yaml')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('nope.yaml');
    const bad = urlFor(['--config', DOCKER_CONFIG, '--http-listen', 'not-an-address']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('http.listen');
  });
});
