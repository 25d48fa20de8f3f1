/**
 * A throw-away self-signed certificate for loopback TLS peers (Kamailio's tls
 * module), made with the openssl CLI. baresip 1.0 does not verify server
 * certificates, so no CA needs to be handed to it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
  remove(): void;
}

export function selfSignedCert(commonName = '127.0.0.1'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-cert-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:::1',
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0) throw new Error(`openssl req failed (${String(r.status)}): ${r.stderr}`);
  return { cert, key, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
