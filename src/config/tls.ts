/**
 * The TLS material of a configuration (SPEC §9, §13 `sip.tls`): our
 * certificate and key read from their PEM files, or — when none are given —
 * a self-signed certificate made at start for the loopback tls:// listeners
 * (the configuration check refuses that on any other address), plus the trust
 * anchors for carriers and whether to check carriers at all.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { generate } from 'selfsigned';
import type { TlsMaterial } from '../sip/transport/protocol.js';
import { errorOf } from '../errors.js';
import { parseListenUrl } from '../sip/transport/listen-url.js';
import type { Config } from './schema.js';

function readPem(path: string, what: 'cert' | 'key' | 'ca'): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw errorOf('TLS_FILE_UNREADABLE', `sip.tls.${what}`, path, (err as Error).message);
  }
}

export async function tlsMaterial(config: Config, log: Logger | undefined): Promise<TlsMaterial> {
  const t = config.sip.tls;
  const ca = t.ca === null ? undefined : readPem(t.ca, 'ca');
  if (t.cert !== null && t.key !== null) return { cert: readPem(t.cert, 'cert'), key: readPem(t.key, 'key'), ca, verifyPeers: t.verifyCarriers };
  const tlsHosts = config.sip.listen.flatMap((url) => {
    const r = parseListenUrl(url);
    return r.ok && (r.spec.transport === 'tls' || r.spec.transport === 'wss') ? [r.spec.host] : [];
  });
  const hosts = [...new Set(['127.0.0.1', '::1', ...tlsHosts])];
  const pems = await generate([{ name: 'commonName', value: 'trunkgate' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...hosts.map((ip) => ({ type: 7 as const, ip }))] }],
  });
  log?.warn({ hosts, fingerprint: pems.fingerprint }, 'no sip.tls.cert and sip.tls.key: made a self-signed certificate for the loopback TLS/WSS listener(s); peers must not check it');
  return { cert: pems.cert, key: pems.private, ca, verifyPeers: t.verifyCarriers };
}
