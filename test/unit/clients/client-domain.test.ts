/**
 * What the client domains read from a REGISTER (its Contact values), and the
 * digest guard's client options: `Authorization` instead of
 * `Proxy-Authorization`, and a fresh challenge (not 403) for credentials sent
 * again with the same nonce count, as SIP.js does with its next request,
 * while a wrong password is still refused and counted.
 */
import { describe, expect, it } from 'vitest';
import { AlertLog } from '../../../src/alerts/alert-log.js';
import { readContacts } from '../../../src/clients/client-domain.js';
import { ManualClock } from '../../../src/limits/clock.js';
import { type SipRequest, parseMessage } from '../../../src/sip/message/index.js';
import { DIGEST_REALM, DigestAuth } from '../../../src/termination/digest.js';
import { DigestGuard } from '../../../src/termination/digest-guard.js';
import { challengeParams, proxyAuthorization } from '../../support/digest-client.js';

const URI = 'sip:acme.client.twilio.com';

function register(headers: string[]): SipRequest {
  const text = [
    `REGISTER ${URI} SIP/2.0`,
    'Via: SIP/2.0/WS abc.invalid;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    'From: <sip:alice@acme.client.twilio.com>;tag=1',
    'To: <sip:alice@acme.client.twilio.com>',
    'Call-ID: reg-1',
    'CSeq: 2 REGISTER',
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || !r.message.isRequest) throw new Error('bad test message');
  r.message.source = { transport: 'ws', address: '127.0.0.1', port: 40000, family: 'IPv4', localAddress: '127.0.0.1', localPort: 8088, connectionId: 1 };
  return r.message;
}

describe('readContacts', () => {
  it('reads each contact with its expires, +sip.instance and reg-id; several per line or one per line', () => {
    const contacts = readContacts(
      register([
        'Contact: <sip:x@h.invalid;transport=ws>;expires=600;+sip.instance="<urn:uuid:1>";reg-id=1, <sip:y@h.invalid>',
        'Contact: "Alice" <sip:z@h.invalid>;expires=0',
      ]),
    );
    expect(contacts).toEqual([
      { uri: 'sip:x@h.invalid;transport=ws', expires: 600, instance: '"<urn:uuid:1>"', regId: '1' },
      { uri: 'sip:y@h.invalid', expires: undefined, instance: undefined, regId: undefined },
      { uri: 'sip:z@h.invalid', expires: 0, instance: undefined, regId: undefined },
    ]);
  });

  it('no Contact is a query; * alone is the wildcard; * with others, or a bad expires, cannot be read', () => {
    expect(readContacts(register([]))).toEqual([]);
    expect(readContacts(register(['Contact: *']))).toBe('*');
    expect(readContacts(register(['Contact: *, <sip:x@h.invalid>']))).toBeUndefined();
    expect(readContacts(register(['Contact: <sip:x@h.invalid>;expires=soon']))).toBeUndefined();
  });
});

describe('DigestGuard for clients', () => {
  const policy = { algorithms: ['MD5' as const], requireUriMatch: true, maxFailures: 10, failureWindowSeconds: 60, banSeconds: 600 };
  const credential = { username: 'alice', password: 'alice-pass-15' };
  const options = { header: 'authorization' as const, rechallenge: true };

  function setup() {
    const clock = new ManualClock(1_700_000_000_000);
    const guard = new DigestGuard(new DigestAuth({ now: () => clock.now() }), clock, new AlertLog(100, () => clock.now()));
    return { guard };
  }

  it('challenges, accepts the answer in Authorization, and challenges again (not 403) when the same nonce count comes back', () => {
    const { guard } = setup();
    const first = guard.authenticate(register([]), [credential], policy, undefined, options);
    if (first.ok || first.kind !== 'challenge') throw new Error('expected a challenge');
    const { nonce, opaque } = challengeParams(first.challenges[0] as string);
    const auth = `Authorization: ${proxyAuthorization({ ...credential, realm: DIGEST_REALM, method: 'REGISTER', uri: URI, nonce, opaque, algorithm: 'MD5', qop: 'auth', nc: 1 })}`;
    expect(guard.authenticate(register([auth]), [credential], policy, undefined, options)).toEqual({ ok: true, username: 'alice' });
    // SIP.js's next REGISTER carries the very same Authorization
    const again = guard.authenticate(register([auth]), [credential], policy, undefined, options);
    expect(again).toMatchObject({ ok: false, kind: 'challenge' });
    // without the option (a trunk's INVITE), the same is refused
    const proxyAuth = auth.replace(/^Authorization/, 'Proxy-Authorization');
    expect(guard.authenticate(register([proxyAuth]), [credential], policy)).toMatchObject({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    expect(guard.stats.failures).toBe(0);
  });

  it('a wrong password is still refused, and counted toward the bans', () => {
    const { guard } = setup();
    const first = guard.authenticate(register([]), [credential], policy, undefined, options);
    if (first.ok || first.kind !== 'challenge') throw new Error('expected a challenge');
    const { nonce, opaque } = challengeParams(first.challenges[0] as string);
    const wrong = `Authorization: ${proxyAuthorization({ username: 'alice', password: 'guess', realm: DIGEST_REALM, method: 'REGISTER', uri: URI, nonce, opaque, algorithm: 'MD5', qop: 'auth' })}`;
    expect(guard.authenticate(register([wrong]), [credential], policy, undefined, options)).toMatchObject({ ok: false, kind: 'refused', why: 'wrong password' });
    expect(guard.stats.failures).toBe(1);
  });
});
