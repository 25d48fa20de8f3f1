/**
 * The ordered checks of SPEC §4.2, on parsed INVITEs (no sockets): one row per
 * check, the order between them, and the CPS token give-back of checks 13-14.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import type { Region } from '../../../src/config/schema.js';
import { ManualClock } from '../../../src/limits/clock.js';
import { ConcurrencyTracker, type CallLease } from '../../../src/limits/concurrency.js';
import { MemoryLimitStore } from '../../../src/limits/limit-store.js';
import { E164, numberMatches } from '../../../src/numbers/number-patterns.js';
import { type SipRequest, parseMessage } from '../../../src/sip/message/index.js';
import {
  type AdmissionContext,
  type AdmissionDecision,
  ORDERED_CHECKS,
  admit,
  callerId,
  identify,
  unknownDomain,
} from '../../../src/termination/admission.js';
import { AlertLog } from '../../../src/alerts/alert-log.js';
import { DIGEST_REALM, DigestAuth } from '../../../src/termination/digest.js';
import { DigestGuard } from '../../../src/termination/digest-guard.js';
import { Directory } from '../../../src/termination/directory.js';
import { challengeParams, proxyAuthorization } from '../../support/digest-client.js';

const T0 = 1_700_000_000_000;
const CALLED = '+14155550123';
const CALLER = '+14155550100';
const HOST = 'acme.pstn.twilio.com';
const PASSWORD = 'Secret-pass-123';

const CHALLENGE = /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[^"]+", opaque="[0-9a-f]+", algorithm=MD5$/;
const STALE_CHALLENGE = /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[^"]+", opaque="[0-9a-f]+", algorithm=MD5, stale=true$/;

function sdp(mLine: string): string {
  return ['v=0', 'o=pbx 1 1 IN IP4 192.0.2.10', 's=call', 'c=IN IP4 192.0.2.10', 't=0 0', mLine, ''].join('\r\n');
}
const SDP_PCMU = sdp('m=audio 40000 RTP/AVP 0 101');
const SDP_PCMA = sdp('m=audio 40000 RTP/AVP 8');
const SDP_G729 = sdp('m=audio 40000 RTP/AVP 18');

// ------------------------------------------------------------------------------------------------
// Configuration and environment

interface RawAccount {
  name: string;
  type: string;
  [key: string]: unknown;
}
interface RawTrunk {
  name: string;
  account: string;
  [key: string]: unknown;
}
interface RawConfig {
  sip?: Record<string, unknown>;
  blocklist?: string[];
  accounts: RawAccount[];
  trunks: RawTrunk[];
}

/** A business account with one trunk behind an IP ACL, CPS 100: every check passes. */
function baseConfig(): RawConfig {
  return {
    blocklist: ['+1900*'],
    accounts: [{ name: 'acme', type: 'business-pcp' }],
    trunks: [{ name: 'acme', account: 'acme', cps: { default: 100 }, auth: { ipAcl: ['127.0.0.0/8'] } }],
  };
}

const account = (r: RawConfig): RawAccount => r.accounts[0] as RawAccount;
const trunk = (r: RawConfig): RawTrunk => r.trunks[0] as RawTrunk;
const withCredentials = (r: RawConfig, ipAcl: string[] = []): void => {
  trunk(r)['auth'] = { ipAcl, credentials: [{ username: 'pbx', password: PASSWORD }] };
};
/** A second trunk on the same account (for pooled CPS and the account-wide cap). */
const secondTrunk = (r: RawConfig, extra: Record<string, unknown> = {}): void => {
  r.trunks.push({ ...trunk(r), name: 'acme2', ...extra });
};

interface Env {
  directory: Directory;
  tracker: ConcurrencyTracker;
  clock: ManualClock;
  digest: DigestAuth;
  auth: DigestGuard;
  ctx: AdmissionContext;
  decide(req: SipRequest): AdmissionDecision;
  /** Decide, and insist on admission (for setting up a later rejection). */
  admitted(req: SipRequest): CallLease;
  /** A Proxy-Authorization answering a fresh challenge for `ruri`, sent to `over.source` (default 127.0.0.1). */
  authorization(ruri?: string, over?: { password?: string; username?: string; nc?: number; nonce?: string; source?: string }): string;
  /** Live tokens/room of the limiter of `trunk:NAME:REGION` or `account:NAME:REGION`, or undefined when no call has used it. */
  available(key: string): number | undefined;
  /** Leases held in `trunk:NAME` or `account:NAME`. */
  count(key: string): number;
}

function env(configure?: (r: RawConfig) => void): Env {
  const raw = baseConfig();
  configure?.(raw);
  const result = validateConfig(raw);
  if (!result.ok) throw new Error(`invalid test config:\n${JSON.stringify(result.problems, null, 2)}`);
  const directory = new Directory(result.config);
  const clock = new ManualClock(T0);
  const tracker = new ConcurrencyTracker();
  const digest = new DigestAuth({ now: () => clock.now() });
  const auth = new DigestGuard(digest, clock, new AlertLog(100, () => clock.now()));
  const ctx: AdmissionContext = {
    directory,
    limits: new MemoryLimitStore(tracker, clock),
    auth,
    cpsFor: (t, region: Region) => t.config.cps[region] ?? t.config.cps.default,
  };
  const decide = (req: SipRequest): AdmissionDecision => {
    const match = identify(req, directory);
    if (match === undefined) return unknownDomain(directory);
    const d = admit(req, match, ctx);
    // the memory store decides at once: no promise on the hot path
    if (d instanceof Promise) throw new Error('admission with the memory store returned a promise');
    return d;
  };
  return {
    directory,
    tracker,
    clock,
    digest,
    auth,
    ctx,
    decide,
    admitted(req) {
      const d = decide(req);
      if (d.kind !== 'admit') throw new Error(`expected admission, got ${JSON.stringify(summary(d))}`);
      return d.lease;
    },
    authorization(ruri = `sip:${CALLED}@${HOST}`, over = {}) {
      const { nonce, opaque } = challengeParams(digest.challenges(over.source ?? '127.0.0.1', ['MD5'])[0] as string);
      return proxyAuthorization({
        username: over.username ?? 'pbx',
        password: over.password ?? PASSWORD,
        realm: DIGEST_REALM,
        method: 'INVITE',
        uri: ruri,
        nonce: over.nonce ?? nonce,
        opaque,
        qop: 'auth',
        nc: over.nc ?? 1,
      });
    },
    available: (key) => {
      const [kind, name, region] = key.split(':') as [string, string, Region];
      const scope = kind === 'trunk' ? directory.trunks.get(name)?.cps.get(region) : directory.accounts.get(name)?.pooledCps.get(region);
      return scope?.peek()?.available(clock.now());
    },
    count: (key) => {
      const [kind, name] = key.split(':') as [string, string];
      return (kind === 'trunk' ? directory.trunks.get(name)?.leaseScope.active : directory.accounts.get(name)?.leaseScope.active) ?? 0;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Requests

interface InviteOptions {
  called?: string;
  host?: string;
  /** Replaces the whole Request-URI. */
  ruri?: string;
  from?: string;
  /** Extra header lines. */
  headers?: string[];
  /** null: no Max-Forwards header. */
  maxForwards?: string | null;
  body?: string;
  /** null: no Content-Type even with a body. */
  contentType?: string | null;
  source?: string;
}

let sequence = 0;

/** A new INVITE, parsed from text, with the transport's source address filled in. */
function invite(o: InviteOptions = {}): SipRequest {
  const n = ++sequence;
  const ruri = o.ruri ?? `sip:${o.called ?? CALLED}@${o.host ?? HOST}`;
  const body = o.body ?? '';
  const lines = [
    `INVITE ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-adm-${n}`,
    ...(o.maxForwards === null ? [] : [`Max-Forwards: ${o.maxForwards ?? '70'}`]),
    `From: ${o.from ?? `<sip:${CALLER}@127.0.0.1>`};tag=f${n}`,
    `To: <${ruri}>`,
    `Call-ID: adm-${n}@127.0.0.1`,
    'CSeq: 1 INVITE',
    'Contact: <sip:pbx@127.0.0.1:5062>',
    ...(o.headers ?? []),
    ...(body.length > 0 && o.contentType !== null ? [`Content-Type: ${o.contentType ?? 'application/sdp'}`] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  const parsed = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!parsed.ok || !parsed.message.isRequest) throw new Error(`test INVITE did not parse: ${parsed.ok ? 'a response' : parsed.reason}`);
  const req = parsed.message;
  const address = o.source ?? '127.0.0.1';
  req.source = {
    transport: 'udp',
    address,
    port: 5062,
    family: address.includes(':') ? 'IPv6' : 'IPv4',
    localAddress: '127.0.0.1',
    localPort: 5060,
    connectionId: undefined,
  };
  return req;
}

/** The parts of a decision a PBX sees (and the metrics label). */
function summary(d: AdmissionDecision): Record<string, unknown> {
  if (d.kind === 'drop') return { kind: 'drop' };
  if (d.kind === 'admit') return { kind: 'admit', trunk: d.match.trunk.name };
  return { kind: 'reject', status: d.status, reason: d.reason, headers: d.headers, alert: d.alert, outcome: d.outcome };
}

interface Expected {
  status: number;
  reason: string;
  headers?: Array<readonly [string, unknown]>;
  alert: number | undefined;
  outcome: string;
}

function rejected(e: Expected): Record<string, unknown> {
  return { kind: 'reject', status: e.status, reason: e.reason, headers: e.headers ?? [], alert: e.alert, outcome: e.outcome };
}

const ADMITTED = { kind: 'admit', trunk: 'acme' };

// ------------------------------------------------------------------------------------------------
// SPEC §4.2, row by row

interface Row {
  /** The check of SPEC §4.2 this row fails. */
  check: number;
  config?: (r: RawConfig) => void;
  /** Builds the request (and may first admit calls to fill a limit). */
  request: (e: Env) => SipRequest;
  expected: Expected | 'drop';
}

const FORBIDDEN_ACL: Expected = { status: 403, reason: 'Forbidden', alert: 32201, outcome: 'forbidden' };
const AUTH_FAILED: Expected = { status: 403, reason: 'Forbidden', alert: 32202, outcome: 'unauthorized' };
const CHALLENGED: Expected = {
  status: 407,
  reason: 'Proxy Authentication Required',
  headers: [['Proxy-Authenticate', expect.stringMatching(CHALLENGE)]],
  alert: undefined,
  outcome: 'challenged',
};
const INVALID_NUMBER: Expected = { status: 400, reason: 'Invalid Phone Number', alert: 32101, outcome: 'invalid_number' };
const INVALID_CALLER_ID: Expected = { status: 403, reason: 'Invalid Caller ID', alert: 32204, outcome: 'forbidden' };
const callerIds = (r: RawConfig): void => {
  account(r)['callerIds'] = [CALLER];
};

const ROWS: Array<[string, Row]> = [
  ['1: unknown domain → dropped (default)', { check: 1, request: () => invite({ host: 'nobody.pstn.twilio.com' }), expected: 'drop' }],
  [
    '1: unknown domain with unknownDomain: reject → 403',
    {
      check: 1,
      config: (r) => {
        r.sip = { unknownDomain: 'reject' };
      },
      request: () => invite({ host: 'nobody.pstn.twilio.com' }),
      expected: { status: 403, reason: 'Forbidden', alert: undefined, outcome: 'forbidden' },
    },
  ],
  ['1: an IP address as the host → dropped', { check: 1, request: () => invite({ host: '127.0.0.1:5060' }), expected: 'drop' }],
  [
    '2: inactive account → 603 + X-Twilio-Error',
    {
      check: 2,
      config: (r) => {
        account(r)['active'] = false;
      },
      request: () => invite(),
      expected: {
        status: 603,
        reason: 'Decline',
        headers: [['X-Twilio-Error', '10001 Account is not active']],
        alert: 10001,
        outcome: 'inactive',
      },
    },
  ],
  ['3: IPv4 source outside the ACL', { check: 3, request: () => invite({ source: '192.0.2.10' }), expected: FORBIDDEN_ACL }],
  [
    '3: IPv6 source outside the ACL',
    {
      check: 3,
      config: (r) => {
        trunk(r)['auth'] = { ipAcl: ['2001:db8::/32'] };
      },
      request: () => invite({ source: '2001:db9::1' }),
      expected: FORBIDDEN_ACL,
    },
  ],
  [
    '3: IPv4 source against an IPv6-only ACL',
    {
      check: 3,
      config: (r) => {
        trunk(r)['auth'] = { ipAcl: ['2001:db8::/32'] };
      },
      request: () => invite({ source: '127.0.0.1' }),
      expected: FORBIDDEN_ACL,
    },
  ],
  [
    '3/4: neither ACL nor credentials → the trunk takes no traffic',
    {
      check: 3,
      config: (r) => {
        trunk(r)['auth'] = { ipAcl: [], credentials: [] };
      },
      request: () => invite(),
      expected: { status: 403, reason: 'Forbidden', alert: 32200, outcome: 'forbidden' },
    },
  ],
  [
    '4: ACL and credentials: ACL passes, no credentials → 407',
    { check: 4, config: (r) => withCredentials(r, ['127.0.0.0/8']), request: () => invite(), expected: CHALLENGED },
  ],
  [
    '3: ACL and credentials: valid credentials, ACL miss → 403',
    {
      check: 3,
      config: (r) => withCredentials(r, ['127.0.0.0/8']),
      request: (e) => invite({ source: '192.0.2.10', headers: [`Proxy-Authorization: ${e.authorization()}`] }),
      expected: FORBIDDEN_ACL,
    },
  ],
  [
    '4: credentials, no Proxy-Authorization → 407',
    { check: 4, config: (r) => withCredentials(r), request: () => invite(), expected: CHALLENGED },
  ],
  [
    '4b: wrong password',
    {
      check: 4,
      config: (r) => withCredentials(r),
      request: (e) => invite({ headers: [`Proxy-Authorization: ${e.authorization(undefined, { password: 'secret-pass-123' })}`] }),
      expected: AUTH_FAILED,
    },
  ],
  [
    '4b: unknown user',
    {
      check: 4,
      config: (r) => withCredentials(r),
      request: (e) => invite({ headers: [`Proxy-Authorization: ${e.authorization(undefined, { username: 'mallory' })}`] }),
      expected: AUTH_FAILED,
    },
  ],
  [
    '4b: forged nonce',
    {
      check: 4,
      config: (r) => withCredentials(r),
      request: (e) =>
        invite({
          headers: [
            `Proxy-Authorization: ${e.authorization(undefined, { nonce: `${T0.toString(16)}.0011223344556677.00112233445566778899aabbccddeeff` })}`,
          ],
        }),
      expected: AUTH_FAILED,
    },
  ],
  [
    '4b: replayed nonce count',
    {
      check: 4,
      config: (r) => withCredentials(r),
      request: (e) => {
        const header = `Proxy-Authorization: ${e.authorization()}`;
        e.admitted(invite({ headers: [header] }));
        return invite({ headers: [header] });
      },
      expected: AUTH_FAILED,
    },
  ],
  [
    '4b: stale nonce → a fresh 407 with stale=true',
    {
      check: 4,
      config: (r) => withCredentials(r),
      request: (e) => {
        const header = `Proxy-Authorization: ${e.authorization()}`;
        e.clock.advance(300_001);
        return invite({ headers: [header] });
      },
      expected: { ...CHALLENGED, headers: [['Proxy-Authenticate', expect.stringMatching(STALE_CHALLENGE)]] },
    },
  ],
  [
    '5: Max-Forwards 0',
    {
      check: 5,
      request: () => invite({ maxForwards: '0' }),
      expected: { status: 483, reason: 'Too Many Hops', alert: 32006, outcome: 'too_many_hops' },
    },
  ],
  ['6: no leading +', { check: 6, request: () => invite({ called: '14155550123' }), expected: INVALID_NUMBER }],
  ['6: first digit 0', { check: 6, request: () => invite({ called: '+0123' }), expected: INVALID_NUMBER }],
  ['6: spaces (escaped in the URI)', { check: 6, request: () => invite({ called: '+1%20415%20555%200123' }), expected: INVALID_NUMBER }],
  ['6: dashes', { check: 6, request: () => invite({ called: '+1-415-555-0123' }), expected: INVALID_NUMBER }],
  ['6: 16 digits', { check: 6, request: () => invite({ called: '+1234567890123456' }), expected: INVALID_NUMBER }],
  ['6: no user part', { check: 6, request: () => invite({ ruri: `sip:${HOST}` }), expected: INVALID_NUMBER }],
  [
    '7: From user not one of the account’s caller IDs',
    { check: 7, config: callerIds, request: () => invite({ from: '<sip:+14155550199@127.0.0.1>' }), expected: INVALID_CALLER_ID },
  ],
  [
    '7: From not a number, P-Asserted-Identity not the account’s',
    {
      check: 7,
      config: callerIds,
      request: () => invite({ from: '"PBX" <sip:pbx@127.0.0.1>', headers: ['P-Asserted-Identity: <sip:+14155550199@127.0.0.1>'] }),
      expected: INVALID_CALLER_ID,
    },
  ],
  [
    '7: From not a number, Remote-Party-ID not the account’s',
    {
      check: 7,
      config: callerIds,
      request: () => invite({ from: '<sip:pbx@127.0.0.1>', headers: ['Remote-Party-ID: <sip:+14155550199@127.0.0.1>;party=calling'] }),
      expected: INVALID_CALLER_ID,
    },
  ],
  [
    '7: no caller ID at all',
    { check: 7, config: callerIds, request: () => invite({ from: '<sip:anonymous@anonymous.invalid>' }), expected: INVALID_CALLER_ID },
  ],
  [
    '7: From takes precedence over a good P-Asserted-Identity',
    {
      check: 7,
      config: callerIds,
      request: () => invite({ from: '<sip:+14155550199@127.0.0.1>', headers: [`P-Asserted-Identity: <sip:${CALLER}@127.0.0.1>`] }),
      expected: INVALID_CALLER_ID,
    },
  ],
  [
    '8: trial account calling an unverified number',
    {
      check: 8,
      config: (r) => {
        Object.assign(account(r), { type: 'trial', verifiedNumbers: ['+14155550111'] });
      },
      request: () => invite(),
      expected: { status: 400, reason: 'The number is unverified', alert: 32100, outcome: 'unverified' },
    },
  ],
  [
    '9: +44 with the default geo permissions ["1"]',
    {
      check: 9,
      request: () => invite({ called: '+442071838750' }),
      expected: { status: 403, reason: 'No International Authorization', alert: 32205, outcome: 'forbidden' },
    },
  ],
  [
    '10: blocklist +1900*',
    {
      check: 10,
      request: () => invite({ called: '+19005550123' }),
      expected: { status: 403, reason: 'Phone number is blocked for verification', alert: 32203, outcome: 'forbidden' },
    },
  ],
  [
    '11: a body that is not SDP → 415 with Accept',
    {
      check: 11,
      request: () => invite({ body: 'hello', contentType: 'text/plain' }),
      expected: {
        status: 415,
        reason: 'Unsupported Media Type',
        headers: [['Accept', 'application/sdp']],
        alert: undefined,
        outcome: 'unsupported_media',
      },
    },
  ],
  [
    '11: unparseable SDP → 400 Bad Request',
    {
      check: 11,
      request: () => invite({ body: 'this is not SDP' }),
      expected: { status: 400, reason: 'Bad Request', alert: 32102, outcome: 'unsupported_media' },
    },
  ],
  [
    '11: SDP without audio → 400 Bad Request',
    {
      check: 11,
      request: () => invite({ body: sdp('m=video 40000 RTP/AVP 96') }),
      expected: { status: 400, reason: 'Bad Request', alert: 32102, outcome: 'unsupported_media' },
    },
  ],
  [
    '11: an offer of G729 only → 415',
    {
      check: 11,
      request: () => invite({ body: SDP_G729 }),
      expected: { status: 415, reason: 'Unsupported Media Type', alert: undefined, outcome: 'unsupported_media' },
    },
  ],
  [
    '12: trunk CPS',
    {
      check: 12,
      config: (r) => {
        trunk(r)['cps'] = { default: 1 };
      },
      request: (e) => {
        e.admitted(invite());
        return invite();
      },
      expected: { status: 503, reason: 'Trunk CPS limit exceeded', alert: 32001, outcome: 'cps_limited' },
    },
  ],
  [
    '13: pooled account CPS',
    {
      check: 13,
      config: (r) => {
        account(r)['pooledCps'] = { us1: 1 };
        trunk(r)['cps'] = { default: 5 };
      },
      request: (e) => {
        e.admitted(invite());
        return invite();
      },
      expected: { status: 503, reason: 'Trunk CPS limit exceeded', alert: 32012, outcome: 'pooled_cps_limited' },
    },
  ],
  [
    '14: trunk concurrency cap',
    {
      check: 14,
      config: (r) => {
        trunk(r)['maxConcurrentCalls'] = 1;
      },
      request: (e) => {
        e.admitted(invite());
        return invite();
      },
      expected: { status: 503, reason: 'Trunk concurrent call limit exceeded', alert: 10004, outcome: 'concurrency_limited' },
    },
  ],
  [
    '14: account trunking cap (no-pcp: 2)',
    {
      check: 14,
      config: (r) => {
        account(r)['type'] = 'no-pcp';
      },
      request: (e) => {
        e.admitted(invite());
        e.admitted(invite());
        return invite();
      },
      expected: { status: 503, reason: 'Trunk concurrent call limit exceeded', alert: 10004, outcome: 'concurrency_limited' },
    },
  ],
];

describe('the checks of SPEC §4.2, row by row', () => {
  it.each(ROWS)('%s', (_name, row) => {
    const e = env(row.config);
    const req = row.request(e);
    const limiters = ['trunk:acme:us1', 'account:acme:us1'];
    const before = { limiters: limiters.map((k) => e.available(k)), active: e.tracker.active, issued: e.tracker.issued };
    const decision = e.decide(req);
    expect(summary(decision)).toEqual(row.expected === 'drop' ? { kind: 'drop' } : rejected(row.expected));
    // A rejected INVITE keeps neither a CPS token nor a lease; before check 12 no limiter is even created.
    expect({ limiters: limiters.map((k) => e.available(k)), active: e.tracker.active, issued: e.tracker.issued }).toEqual(before);
    if (decision.kind === 'reject') expect(decision.match?.trunk.name).toBe(row.check === 1 ? undefined : 'acme');
  });

  it('the 407 challenge names this gateway’s opaque and a nonce it will accept', () => {
    const e = env((r) => withCredentials(r));
    const d = e.decide(invite());
    if (d.kind !== 'reject') throw new Error('expected a 407');
    const challenge = d.headers.find(([name]) => name === 'Proxy-Authenticate')?.[1] ?? '';
    const { nonce, opaque } = challengeParams(challenge);
    expect(opaque).toBe(e.digest.opaque);
    const answer = proxyAuthorization({
      username: 'pbx',
      password: PASSWORD,
      realm: DIGEST_REALM,
      method: 'INVITE',
      uri: `sip:${CALLED}@${HOST}`,
      nonce,
      opaque,
      qop: 'auth',
      nc: 1,
    });
    expect(summary(e.decide(invite({ headers: [`Proxy-Authorization: ${answer}`] })))).toEqual(ADMITTED);
  });
});

describe('refusals before authentication (sent once, issue 12)', () => {
  it.each(ROWS.filter(([, row]) => row.expected !== 'drop'))('%s', (_name, row) => {
    const e = env(row.config);
    const decision = e.decide(row.request(e));
    if (decision.kind !== 'reject') throw new Error(`expected a rejection, got ${decision.kind}`);
    // checks 1-4 (unknown domain, account, ACL, credentials) come before the sender is authenticated
    expect(decision.beforeAuthentication).toBe(row.check <= 4);
  });
});

describe('the digest ban and the challenge offer (security.digest)', () => {
  const guess = (e: Env, password: string, source = '127.0.0.1', username = 'pbx'): AdmissionDecision =>
    e.decide(invite({ source, headers: [`Proxy-Authorization: ${e.authorization(undefined, { password, source, username })}`] }));
  const BANNED = { kind: 'reject', status: 403, reason: 'Forbidden', headers: [], alert: 32216, outcome: 'banned' };

  it('challenges with one Proxy-Authenticate per algorithm, in the configured order', () => {
    const e = env((r) => {
      withCredentials(r);
      (r as unknown as Record<string, unknown>)['security'] = { digest: { algorithms: ['SHA-256', 'MD5'] } };
    });
    const d = e.decide(invite());
    expect(summary(d)).toMatchObject({ status: 407, outcome: 'challenged' });
    const headers = d.kind === 'reject' ? d.headers : [];
    expect(headers.map(([n, v]) => `${n}: ${/algorithm=([A-Z0-9-]+)/.exec(v)?.[1] ?? ''}`)).toEqual(['Proxy-Authenticate: SHA-256', 'Proxy-Authenticate: MD5']);
  });

  it('maxFailures wrong passwords from one source ban it: then even the right password is refused (403, alert 32216) until the ban ends', () => {
    const e = env((r) => {
      withCredentials(r);
      (r as unknown as Record<string, unknown>)['security'] = { digest: { maxFailures: 3, failureWindowSeconds: 60, banSeconds: 120 } };
    });
    const outcomes = [1, 2, 3].map((i) => summary(guess(e, `guess-${i}`)).outcome);
    expect(outcomes).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
    expect(e.auth.bans().map((b) => [b.kind, b.value, b.failures])).toEqual([
      ['source', '127.0.0.1', 3],
      ['username', 'pbx', 3],
    ]);
    expect(summary(guess(e, PASSWORD))).toEqual(BANNED);
    // no credentials at all from the banned source: refused too, no new nonce handed out
    expect(summary(e.decide(invite()))).toEqual(BANNED);
    e.clock.advance(120_000);
    expect(summary(guess(e, PASSWORD))).toEqual(ADMITTED);
  });

  it('a banned username is refused from any source; another username from the same (unbanned) source still works', () => {
    const e = env((r) => {
      trunk(r)['auth'] = { credentials: [{ username: 'pbx', password: PASSWORD }, { username: 'ops', password: 'Ops-pass-789' }] };
      (r as unknown as Record<string, unknown>)['security'] = { digest: { maxFailures: 2 } };
    });
    guess(e, 'x', '192.0.2.1');
    guess(e, 'y', '192.0.2.2'); // two sources, one failure each: only the username reaches 2
    expect(e.auth.bans().map((b) => `${b.kind}:${b.value}`)).toEqual(['username:pbx']);
    expect(summary(guess(e, PASSWORD, '192.0.2.3'))).toEqual(BANNED);
    expect(summary(guess(e, 'Ops-pass-789', '192.0.2.1', 'ops'))).toEqual(ADMITTED);
  });

  it('failures outside the window do not add up', () => {
    const e = env((r) => {
      withCredentials(r);
      (r as unknown as Record<string, unknown>)['security'] = { digest: { maxFailures: 2, failureWindowSeconds: 10 } };
    });
    guess(e, 'a');
    e.clock.advance(10_001);
    guess(e, 'b');
    expect(e.auth.bans()).toEqual([]);
    expect(summary(guess(e, PASSWORD))).toEqual(ADMITTED);
  });

  it('refusals that are not password guesses (a forged nonce, no header) do not count: a spoofed source cannot get anyone banned', () => {
    const e = env((r) => {
      withCredentials(r);
      (r as unknown as Record<string, unknown>)['security'] = { digest: { maxFailures: 1 } };
    });
    // a nonce issued to 192.0.2.66 (the attacker), used from 127.0.0.1 (the PBX, spoofed)
    const stolen = e.authorization(undefined, { password: 'wrong', source: '192.0.2.66' });
    expect(summary(e.decide(invite({ headers: [`Proxy-Authorization: ${stolen}`] }))).outcome).toBe('unauthorized');
    expect(summary(e.decide(invite()))).toMatchObject({ status: 407 });
    expect(e.auth.bans()).toEqual([]);
    expect(e.auth.stats.failures).toBe(0);
    expect(summary(guess(e, PASSWORD))).toEqual(ADMITTED);
  });

  it('clearing lifts a ban at once', () => {
    const e = env((r) => {
      withCredentials(r);
      (r as unknown as Record<string, unknown>)['security'] = { digest: { maxFailures: 1 } };
    });
    guess(e, 'nope');
    expect(summary(guess(e, PASSWORD))).toEqual(BANNED);
    expect(e.auth.clear('source', '127.0.0.1')).toBe(true);
    expect(summary(guess(e, PASSWORD))).toEqual(BANNED); // the username is still banned
    expect(e.auth.clearAll()).toBe(1);
    expect(summary(guess(e, PASSWORD))).toEqual(ADMITTED);
    expect(e.auth.clear('source', '127.0.0.1')).toBe(false);
  });
});

describe('what passes each check', () => {
  it.each<[string, ((r: RawConfig) => void) | undefined, (e: Env) => SipRequest]>([
    ['the plain case: ACL match, E.164, no body (late offer)', undefined, () => invite()],
    ['an edge URI (its own region)', undefined, () => invite({ host: 'acme.pstn.dublin.twilio.com' })],
    ['a host in upper case', undefined, () => invite({ host: 'ACME.PSTN.TWILIO.COM' })],
    [
      'an IPv6 source inside the ACL',
      (r) => {
        trunk(r)['auth'] = { ipAcl: ['2001:db8::/32'] };
      },
      () => invite({ source: '2001:db8::1' }),
    ],
    [
      'credentials only, answered correctly',
      (r) => withCredentials(r),
      (e) => invite({ source: '192.0.2.10', headers: [`Proxy-Authorization: ${e.authorization(undefined, { source: '192.0.2.10' })}`] }),
    ],
    [
      'ACL and credentials, both satisfied',
      (r) => withCredentials(r, ['127.0.0.0/8']),
      (e) => invite({ headers: [`Proxy-Authorization: ${e.authorization()}`] }),
    ],
    ['no Max-Forwards (taken as 70: our documented reading)', undefined, () => invite({ maxForwards: null })],
    ['Max-Forwards 1', undefined, () => invite({ maxForwards: '1' })],
    ['the longest E.164 number (15 digits)', undefined, () => invite({ called: '+123456789012345' })],
    ['caller ID from the From user', callerIds, () => invite()],
    [
      'caller ID from P-Asserted-Identity when From is not a number',
      callerIds,
      () => invite({ from: '<sip:pbx@127.0.0.1>', headers: [`P-Asserted-Identity: "Acme" <sip:${CALLER}@127.0.0.1>`] }),
    ],
    [
      'caller ID from a tel: P-Asserted-Identity',
      callerIds,
      () => invite({ from: '<sip:pbx@127.0.0.1>', headers: [`P-Asserted-Identity: <tel:${CALLER}>`] }),
    ],
    [
      'caller ID from Remote-Party-ID when neither From nor P-Asserted-Identity is a number',
      callerIds,
      () => invite({ from: '<sip:pbx@127.0.0.1>', headers: [`Remote-Party-ID: <sip:${CALLER}@127.0.0.1>;party=calling;screen=yes`] }),
    ],
    ['any caller ID when callerIds is not configured', undefined, () => invite({ from: '<sip:anonymous@anonymous.invalid>' })],
    [
      'a trial account calling a verified number',
      (r) => {
        Object.assign(account(r), { type: 'trial', verifiedNumbers: [CALLED] });
      },
      () => invite(),
    ],
    [
      '+44 with geo permissions ["1", "44"]',
      (r) => {
        account(r)['geoPermissions'] = ['1', '44'];
      },
      () => invite({ called: '+442071838750' }),
    ],
    ['a number next to the blocked prefix', undefined, () => invite({ called: '+19015550123' })],
    ['an SDP offer with PCMU', undefined, () => invite({ body: SDP_PCMU })],
    ['an SDP offer with PCMA only', undefined, () => invite({ body: SDP_PCMA })],
    [
      'SDP with Content-Type parameters and upper case',
      undefined,
      () => invite({ body: SDP_PCMU, contentType: 'Application/SDP; charset=utf-8' }),
    ],
    ['SDP without a Content-Type', undefined, () => invite({ body: SDP_PCMU, contentType: null })],
  ])('%s', (_name, configure, request) => {
    const e = env(configure);
    const before = e.tracker.active;
    expect(summary(e.decide(request(e)))).toEqual(ADMITTED);
    expect(e.tracker.active).toBe(before + 1);
  });

  it('an admission carries the call’s trunk (with its account, route and maximum duration), region, edge and lease', () => {
    const e = env();
    const d = e.decide(invite({ host: 'acme.pstn.ie1.twilio.com' }));
    if (d.kind !== 'admit') throw new Error('expected admission');
    const t = d.match.trunk;
    expect({ trunk: t.name, account: t.account.name, route: t.route, maxDurationMs: t.maxDurationMs, region: d.match.region, edge: d.match.edge }).toEqual({
      trunk: 'acme',
      account: 'acme',
      route: { kind: 'builtin' },
      maxDurationMs: 4 * 60 * 60 * 1000,
      region: 'ie1',
      edge: 'dublin',
    });
    expect(d.lease.scopes).toEqual([t.leaseScope, t.account.leaseScope]);
    expect(d.lease.scopes.map((s) => `${s.kind}:${s.name}`)).toEqual(['trunk:acme', 'account:acme']);
  });
});

describe('order: a request failing several checks gets the earliest one’s answer', () => {
  const CPS_EXHAUSTED = (r: RawConfig): void => {
    trunk(r)['cps'] = { default: 1 };
  };
  it.each<[string, ((r: RawConfig) => void) | undefined, (e: Env) => SipRequest, Expected]>([
    [
      '2 inactive + 3 ACL miss',
      (r) => {
        account(r)['active'] = false;
      },
      () => invite({ source: '192.0.2.10' }),
      { status: 603, reason: 'Decline', headers: [['X-Twilio-Error', '10001 Account is not active']], alert: 10001, outcome: 'inactive' },
    ],
    [
      '2 inactive + no ACL or credentials',
      (r) => {
        account(r)['active'] = false;
        trunk(r)['auth'] = {};
      },
      () => invite(),
      { status: 603, reason: 'Decline', headers: [['X-Twilio-Error', '10001 Account is not active']], alert: 10001, outcome: 'inactive' },
    ],
    ['3 ACL miss + 4 no credentials', (r) => withCredentials(r, ['127.0.0.0/8']), () => invite({ source: '192.0.2.10' }), FORBIDDEN_ACL],
    ['4 no credentials + 5 Max-Forwards 0', (r) => withCredentials(r), () => invite({ maxForwards: '0' }), CHALLENGED],
    [
      '5 Max-Forwards 0 + 6 bad number',
      undefined,
      () => invite({ maxForwards: '0', called: '14155550123' }),
      { status: 483, reason: 'Too Many Hops', alert: 32006, outcome: 'too_many_hops' },
    ],
    ['6 bad number + 10 blocked prefix', undefined, () => invite({ called: '+1900555012345678' }), INVALID_NUMBER],
    ['6 bad number + 9 geo', undefined, () => invite({ called: '+44-20-7183-8750' }), INVALID_NUMBER],
    [
      '7 caller ID + 8 trial unverified',
      (r) => {
        Object.assign(account(r), { type: 'trial', callerIds: [CALLER] });
      },
      () => invite({ from: '<sip:+14155550199@127.0.0.1>' }),
      INVALID_CALLER_ID,
    ],
    [
      '8 trial unverified + 9 geo',
      (r) => {
        account(r)['type'] = 'trial';
      },
      () => invite({ called: '+442071838750' }),
      { status: 400, reason: 'The number is unverified', alert: 32100, outcome: 'unverified' },
    ],
    [
      '9 geo + 10 blocklist',
      (r) => {
        r.blocklist = ['+44*'];
      },
      () => invite({ called: '+442071838750' }),
      { status: 403, reason: 'No International Authorization', alert: 32205, outcome: 'forbidden' },
    ],
    [
      '10 blocked + 11 bad SDP',
      undefined,
      () => invite({ called: '+19005550123', body: 'not sdp' }),
      { status: 403, reason: 'Phone number is blocked for verification', alert: 32203, outcome: 'forbidden' },
    ],
    [
      '11 bad SDP + 12 CPS exhausted',
      CPS_EXHAUSTED,
      (e) => {
        e.admitted(invite());
        return invite({ body: 'not sdp' });
      },
      { status: 400, reason: 'Bad Request', alert: 32102, outcome: 'unsupported_media' },
    ],
    [
      '12 trunk CPS + 13 pooled CPS',
      (r) => {
        trunk(r)['cps'] = { default: 1 };
        account(r)['pooledCps'] = { us1: 1 };
      },
      (e) => {
        e.admitted(invite());
        return invite();
      },
      { status: 503, reason: 'Trunk CPS limit exceeded', alert: 32001, outcome: 'cps_limited' },
    ],
    [
      '13 pooled CPS + 14 concurrency',
      (r) => {
        account(r)['pooledCps'] = { us1: 1 };
        trunk(r)['maxConcurrentCalls'] = 1;
      },
      (e) => {
        e.admitted(invite());
        return invite();
      },
      { status: 503, reason: 'Trunk CPS limit exceeded', alert: 32012, outcome: 'pooled_cps_limited' },
    ],
  ])('%s', (_name, configure, request, expected) => {
    const e = env(configure);
    expect(summary(e.decide(request(e)))).toEqual(rejected(expected));
  });

  it('checks 2-11 run in the provider’s order', () => {
    expect(ORDERED_CHECKS.map(([name]) => name)).toEqual([
      'account-active',
      'ip-acl-and-credentials',
      'require',
      'max-forwards',
      'called-number-e164',
      'caller-id',
      'trial-verified',
      'geo-permissions',
      'blocklist',
      'sdp-offer',
    ]);
  });
});

describe('CPS tokens and leases: given back in one place (SPEC §4.2)', () => {
  it('an admitted call keeps one trunk token, one pooled token and one lease', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 5 };
      account(r)['pooledCps'] = { us1: 5 };
    });
    const lease = e.admitted(invite());
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1')]).toEqual([4, 4]);
    expect([e.tracker.active, e.count('trunk:acme'), e.count('account:acme')]).toEqual([1, 1, 1]);
    expect(lease.released).toBe(false);
  });

  it('a call refused at check 13 (pooled CPS) gives back its trunk token', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 1 };
      account(r)['pooledCps'] = { us1: 1 };
      secondTrunk(r);
    });
    e.admitted(invite({ host: 'acme2.pstn.twilio.com' }));
    const trunkA = e.directory.trunks.get('acme')?.cps.get('us1')?.limiter({ algorithm: 'token-bucket', cps: 1, burst: null, toleranceMs: null });
    if (trunkA === undefined) throw new Error('no CPS scope for trunk acme in us1');
    expect([trunkA.available(T0), e.available('account:acme:us1')]).toEqual([1, 0]);
    expect(summary(e.decide(invite()))).toMatchObject({ status: 503, alert: 32012 });
    expect(e.directory.trunks.get('acme')?.cps.get('us1')?.peek()).toBe(trunkA);
    expect([trunkA.available(T0), e.available('account:acme:us1'), e.tracker.active]).toEqual([1, 0, 1]);
  });

  it('a call refused at check 14 (concurrency) gives back the trunk and pooled tokens, and the next call can use them at once', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 2 };
      account(r)['pooledCps'] = { us1: 2 };
      account(r)['limits'] = { trunkingConcurrentCalls: 1 };
    });
    const first = e.admitted(invite());
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1')]).toEqual([1, 1]);
    expect(summary(e.decide(invite()))).toMatchObject({ status: 503, alert: 10004 });
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1'), e.tracker.active]).toEqual([1, 1, 1]);
    first.release('bye-caller');
    // Same instant: the given-back tokens admit the next call.
    expect(summary(e.decide(invite()))).toEqual(ADMITTED);
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1'), e.tracker.active]).toEqual([0, 0, 1]);
  });

  it('with CPS 1 and a concurrency cap of 0, refused calls never use up the one token', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 1 };
      trunk(r)['maxConcurrentCalls'] = 0;
      account(r)['pooledCps'] = { us1: 1 };
    });
    for (let i = 0; i < 5; i++)
      expect(summary(e.decide(invite()))).toMatchObject({ status: 503, alert: 10004, outcome: 'concurrency_limited' });
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1'), e.tracker.active, e.tracker.issued]).toEqual([1, 1, 0, 0]);
  });

  it('rejections before check 12 touch no limiter and take no lease', () => {
    const e = env((r) => {
      account(r)['pooledCps'] = { us1: 1 };
      account(r)['callerIds'] = [CALLER];
    });
    const refused = [
      invite({ source: '192.0.2.10' }),
      invite({ maxForwards: '0' }),
      invite({ called: '+0123' }),
      invite({ from: '<sip:+14155550199@127.0.0.1>' }),
      invite({ called: '+442071838750' }),
      invite({ called: '+19005550123' }),
      invite({ body: SDP_G729 }),
    ];
    for (const req of refused) expect(e.decide(req).kind).toBe('reject');
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1'), e.tracker.issued]).toEqual([undefined, undefined, 0]);
    // …and after an admission, leave the tokens where they are.
    e.admitted(invite());
    for (const req of [invite({ source: '192.0.2.10' }), invite({ body: 'not sdp' })]) expect(e.decide(req).kind).toBe('reject');
    expect([e.available('trunk:acme:us1'), e.available('account:acme:us1'), e.tracker.active, e.tracker.issued]).toEqual([99, 0, 1, 1]);
  });

  it('CPS is per (trunk, region): an edge URI draws on its own region’s limiter', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 1, ie1: 2 };
    });
    expect(summary(e.decide(invite()))).toEqual(ADMITTED);
    expect(summary(e.decide(invite()))).toMatchObject({ alert: 32001 });
    expect(summary(e.decide(invite({ host: 'acme.pstn.dublin.twilio.com' })))).toEqual(ADMITTED);
    expect(summary(e.decide(invite({ host: 'acme.pstn.ie1-ix.twilio.com' })))).toEqual(ADMITTED);
    expect(summary(e.decide(invite({ host: 'acme.pstn.dublin.twilio.com' })))).toMatchObject({ alert: 32001 });
    e.clock.advance(1000);
    expect(summary(e.decide(invite()))).toEqual(ADMITTED);
  });

  it('uses the CPS in force from the context (the Console API’s setting)', () => {
    const e = env((r) => {
      trunk(r)['cps'] = { default: 1 };
    });
    e.ctx.cpsFor = () => 3;
    for (let i = 0; i < 3; i++) expect(summary(e.decide(invite()))).toEqual(ADMITTED);
    expect(summary(e.decide(invite()))).toMatchObject({ alert: 32001 });
  });
});

describe('concurrency: trunk cap and account trunking cap (SPEC §3, §4.4)', () => {
  it.each<[string, (r: RawConfig) => void, number | null]>([
    [
      'trial: 4',
      (r) => {
        Object.assign(account(r), { type: 'trial', verifiedNumbers: [CALLED] });
      },
      4,
    ],
    [
      'no-pcp: 2',
      (r) => {
        account(r)['type'] = 'no-pcp';
      },
      2,
    ],
    [
      'individual-pcp: 3',
      (r) => {
        account(r)['type'] = 'individual-pcp';
      },
      3,
    ],
    ['business-pcp: unlimited', () => undefined, null],
    [
      'legacy no-pcp: no cap',
      (r) => {
        Object.assign(account(r), { type: 'no-pcp', legacy: true });
      },
      null,
    ],
    [
      'no-pcp with an override of 5',
      (r) => {
        Object.assign(account(r), { type: 'no-pcp', limits: { trunkingConcurrentCalls: 5 } });
      },
      5,
    ],
    [
      'trial with an override of null (unlimited)',
      (r) => {
        Object.assign(account(r), { type: 'trial', verifiedNumbers: [CALLED], limits: { trunkingConcurrentCalls: null } });
      },
      null,
    ],
    [
      'business-pcp with an override of 0',
      (r) => {
        account(r)['limits'] = { trunkingConcurrentCalls: 0 };
      },
      0,
    ],
    [
      'business-pcp with a trunk cap of 2',
      (r) => {
        trunk(r)['maxConcurrentCalls'] = 2;
      },
      2,
    ],
    [
      'a trunk cap above the account’s cap: the account’s wins',
      (r) => {
        account(r)['type'] = 'no-pcp';
        trunk(r)['maxConcurrentCalls'] = 10;
      },
      2,
    ],
  ])('%s', (_name, configure, cap) => {
    const e = env(configure);
    const leases: CallLease[] = [];
    const admits = cap ?? 30;
    for (let i = 0; i < admits; i++) leases.push(e.admitted(invite()));
    expect(e.tracker.active).toBe(admits);
    if (cap === null) return;
    const refused = e.decide(invite());
    expect(summary(refused)).toEqual(
      rejected({ status: 503, reason: 'Trunk concurrent call limit exceeded', alert: 10004, outcome: 'concurrency_limited' }),
    );
    expect(e.tracker.active).toBe(cap);
    // A call ending makes room for exactly one more.
    if (cap === 0) return;
    leases[0]?.release('bye-callee');
    expect(summary(e.decide(invite()))).toEqual(ADMITTED);
    expect(e.decide(invite()).kind).toBe('reject');
  });

  it('the account cap counts calls on all the account’s trunks', () => {
    const e = env((r) => {
      account(r)['type'] = 'no-pcp';
      secondTrunk(r);
    });
    e.admitted(invite());
    e.admitted(invite({ host: 'acme2.pstn.twilio.com' }));
    expect(summary(e.decide(invite()))).toMatchObject({ alert: 10004 });
    expect(summary(e.decide(invite({ host: 'acme2.pstn.twilio.com' })))).toMatchObject({ alert: 10004 });
    expect([e.count('account:acme'), e.count('trunk:acme'), e.count('trunk:acme2')]).toEqual([2, 1, 1]);
  });

  it('a trunk cap leaves the account’s other trunks alone', () => {
    const e = env((r) => {
      trunk(r)['maxConcurrentCalls'] = 1;
      secondTrunk(r, { maxConcurrentCalls: null });
    });
    e.admitted(invite());
    expect(summary(e.decide(invite()))).toMatchObject({ alert: 10004 });
    e.admitted(invite({ host: 'acme2.pstn.twilio.com' }));
    e.admitted(invite({ host: 'acme2.pstn.twilio.com' }));
    expect(e.count('account:acme')).toBe(3);
  });
});

describe('building blocks', () => {
  it('identify: only sip/sips Request-URIs naming a trunk', () => {
    const { directory } = env();
    expect(identify(invite(), directory)?.trunk.name).toBe('acme');
    expect(identify(invite({ ruri: `sips:${CALLED}@${HOST}` }), directory)?.trunk.name).toBe('acme');
    expect(identify(invite({ ruri: `tel:${CALLED}` }), directory)).toBeUndefined();
    expect(identify(invite({ host: 'acme.pstn.example.com' }), directory)).toBeUndefined();
  });

  it('unknownDomain: silence by default, 403 with unknownDomain: reject', () => {
    expect(unknownDomain(env().directory)).toEqual({ kind: 'drop' });
    expect(
      unknownDomain(
        env((r) => {
          r.sip = { unknownDomain: 'reject' };
        }).directory,
      ),
    ).toEqual({ kind: 'reject', match: undefined, beforeAuthentication: true, status: 403, reason: 'Forbidden', headers: [], alert: undefined, outcome: 'forbidden' });
  });

  it.each([
    ['+1', true],
    ['+14155550123', true],
    ['+123456789012345', true],
    ['+1234567890123456', false],
    ['+0123', false],
    ['14155550123', false],
    ['+', false],
    ['+1 415 555 0123', false],
    ['+1-415-555-0123', false],
    ['+1(415)5550123', false],
    ['+1415555012a', false],
    ['', false],
  ])('E164 %j → %s', (number, ok) => {
    expect(E164.test(number)).toBe(ok);
  });

  it.each([
    ['+1900*', '+19005550123', true],
    ['+1900*', '+1900', true],
    ['+1900*', '+1901555', false],
    ['+19005550123', '+19005550123', true],
    ['+19005550123', '+190055501234', false],
    ['*', '+44123', true],
  ])('numberMatches(%j, %j) → %s (the blocklist)', (pattern, number, ok) => {
    expect(numberMatches(pattern, number)).toBe(ok);
  });

  it('callerId: From user if a number, else P-Asserted-Identity, else Remote-Party-ID', () => {
    expect(callerId(invite())).toBe(CALLER);
    expect(
      callerId(
        invite({
          from: '<sip:pbx@x>',
          headers: ['P-Asserted-Identity: <sip:+14155550101@x>, <tel:+14155550102>', 'Remote-Party-ID: <sip:+14155550103@x>'],
        }),
      ),
    ).toBe('+14155550101');
    expect(
      callerId(
        invite({
          from: '<sip:pbx@x>',
          headers: ['P-Asserted-Identity: <sip:pbx@x>', 'Remote-Party-ID: "R" <sip:+14155550103@x>;party=calling'],
        }),
      ),
    ).toBe('+14155550103');
    expect(callerId(invite({ from: '<sip:anonymous@anonymous.invalid>' }))).toBeUndefined();
  });
});

describe('Require (our 420, after the credentials)', () => {
  it('a Require trunkgate does not support gets 420 Bad Extension listing it in Unsupported', () => {
    const e = env();
    const d = e.decide(invite({ headers: ['Require: 100rel, timer'] }));
    expect(summary(d)).toMatchObject({ kind: 'reject', status: 420, reason: 'Bad Extension', outcome: 'bad_extension' });
    expect(d.kind === 'reject' ? d.headers : []).toEqual([['Unsupported', '100rel, timer']]);
    expect(e.tracker.issued).toBe(0);
  });

  it('an unknown source gets the ACL 403, not the 420: the check runs after the ACL and credentials', () => {
    const e = env((r) => {
      trunk(r).auth = { ipAcl: ['10.0.0.0/8'] };
    });
    const d = e.decide(invite({ headers: ['Require: 100rel'] }));
    expect(summary(d)).toMatchObject({ kind: 'reject', status: 403, reason: 'Forbidden', alert: 32201 });
  });
});
