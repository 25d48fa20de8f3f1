/**
 * Digest that cannot be guessed online (issue 12): scripted guessing runs
 * over real UDP against a gateway with the default security.digest policy
 * (10 failures in 60 s ban for 600 s), computing each answer with the test's
 * own RFC 2617 client (test/support/digest-client.ts). The ban shows in the
 * admin API, the alerts and the metrics, and is lifted there. Before this,
 * 1,501 guesses against one nonce took 0.9 s and found the password.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { SipResponse } from '../../src/sip/message/index.js';
import { challengeParams, proxyAuthorization } from '../support/digest-client.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient, sampleValue } from '../support/http.js';
import { UdpPeer } from '../support/sip-peers.js';

const PASSWORD = 'Secret-pass-123';
const HOST = 'demo.pstn.twilio.com';
/** The PSTN emulator's busy number: an admitted call ends with 486 at once (no dialog to tear down). */
const BUSY = '+15550004861';
const RURI = `sip:${BUSY}@${HOST}`;

let gateway: Gateway | undefined;
const peers: UdpPeer[] = [];

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  for (const p of peers.splice(0)) await p.close();
});

let seq = 0;

/** A PBX on a loopback address that sends INVITEs and waits for their final response (ACKing it). */
class Pbx {
  private constructor(
    readonly peer: UdpPeer,
    private readonly port: number,
  ) {}

  static async open(g: Gateway, address = '127.0.0.1'): Promise<Pbx> {
    const peer = await UdpPeer.open(address);
    peers.push(peer);
    return new Pbx(peer, g.address('udp').port);
  }

  /** Send an INVITE (with these extra headers) and return its final response. */
  async invite(extra: string[] = []): Promise<SipResponse> {
    const n = ++seq;
    const branch = `z9hG4bK-guess-${n}`;
    const p = this.peer;
    const text = [
      `INVITE ${RURI} SIP/2.0`,
      `Via: SIP/2.0/UDP ${p.hostPort};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:+14155550100@${p.address}>;tag=g${n}`,
      `To: <${RURI}>`,
      `Call-ID: guess-${n}@pbx`,
      'CSeq: 1 INVITE',
      `Contact: <sip:pbx@${p.hostPort}>`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await p.send(text, this.port, '127.0.0.1');
    const res = await p.waitFor((m): m is SipResponse => !m.isRequest && m.callId === `guess-${n}@pbx` && m.status >= 200, 1, `the final response to INVITE #${n}`);
    const ack = text
      .replace(`INVITE ${RURI}`, `ACK ${RURI}`)
      .replace('CSeq: 1 INVITE', 'CSeq: 1 ACK')
      .replace(`To: <${RURI}>`, `To: <${RURI}>;tag=${res.toTag ?? ''}`);
    await p.send(ack, this.port, '127.0.0.1');
    return res;
  }

  /** A 407's challenge (nonce, opaque), or undefined when the INVITE was refused outright. */
  async challenge(): Promise<{ nonce: string; opaque: string } | undefined> {
    const res = await this.invite();
    if (res.status !== 407) return undefined;
    return challengeParams(res.headers.get('proxy-authenticate') ?? '');
  }

  /** Answer a challenge with this password. */
  async answer(c: { nonce: string; opaque: string }, password: string, username = 'pbx'): Promise<SipResponse> {
    const auth = proxyAuthorization({ username, password, realm: 'sip.twilio.com', method: 'INVITE', uri: RURI, nonce: c.nonce, opaque: c.opaque, algorithm: 'MD5', qop: 'auth', nc: 1 });
    return this.invite([`Proxy-Authorization: ${auth}`]);
  }
}

async function credentialsGateway(security: Record<string, unknown> = {}): Promise<Gateway> {
  gateway = await startTestGateway({
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { credentials: [{ username: 'pbx', password: PASSWORD }] } }],
    security,
  });
  return gateway;
}

describe('a scripted guessing run (the default policy: 10 failures in 60 s, then a 600 s ban)', () => {
  it('a dictionary run that fetches a fresh challenge each time gets 10 guesses, then everything from that source is refused; the bans show in the API, the alerts and the metrics; DELETE lifts them', async () => {
    const g = await credentialsGateway();
    const api = adminClient(g);
    const attacker = await Pbx.open(g);
    // a challenge fetched before the run: answered with the right password once the ban is on
    const held = await attacker.challenge();
    if (held === undefined) throw new Error('expected a 407');
    const dictionary = [...Array.from({ length: 40 }, (_, i) => `guess-${i}`), PASSWORD];
    let checked = 0;
    let refusedOutright = 0;
    for (const word of dictionary) {
      const c = await attacker.challenge();
      if (c === undefined) {
        refusedOutright++;
        continue;
      }
      const res = await attacker.answer(c, word);
      expect(res.status).toBe(403);
      checked++;
    }
    console.log(`guessing run: ${dictionary.length} dictionary words, ${checked} guesses checked before the ban, ${refusedOutright} refused without a challenge (the right password among them)`);
    expect(checked).toBe(10);
    expect(refusedOutright).toBe(dictionary.length - 10);
    // the right password on a nonce issued before the ban: refused, the password is not looked at
    const during = await attacker.answer(held, PASSWORD);
    expect(during.status).toBe(403);

    const bans = await api.get<{ bans: Array<{ kind: string; value: string; failures: number }>; policy: Record<string, unknown> }>('/v1/security/bans');
    expect(bans.status).toBe(200);
    expect(bans.json.bans.map((b) => [b.kind, b.value, b.failures])).toEqual([
      ['source', '127.0.0.1', 10],
      ['username', 'pbx', 10],
    ]);
    expect(bans.json.policy).toMatchObject({ maxFailures: 10, failureWindowSeconds: 60, banSeconds: 600, algorithms: ['MD5'] });
    const alerts = await api.get<Array<{ code: number; detail?: string }>>('/v1/alerts');
    expect(alerts.json.filter((a) => a.code === 32202)).toHaveLength(10);
    expect(alerts.json.find((a) => a.code === 32216)?.detail).toBe('source 127.0.0.1 banned for 600 s after 10 failed digest attempts within 60 s');
    const metrics = await api.metrics();
    expect(sampleValue(metrics, 'trunkgate_digest_failures_total')).toBe(10);
    expect(sampleValue(metrics, 'trunkgate_digest_bans_total', { kind: 'source' })).toBe(1);
    expect(sampleValue(metrics, 'trunkgate_digest_bans_total', { kind: 'username' })).toBe(1);
    expect(sampleValue(metrics, 'trunkgate_digest_banned', { kind: 'source' })).toBe(1);
    expect(sampleValue(metrics, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'banned' })).toBe(dictionary.length - 10 + 1);

    // another source with the right password: the username is banned too
    const pbx = await Pbx.open(g, '127.0.0.2');
    const c2 = await pbx.challenge();
    if (c2 === undefined) throw new Error('a source that is not banned gets a challenge');
    expect((await pbx.answer(c2, PASSWORD)).status).toBe(403);
    // lift the username's ban only: the other source gets in, the attacker stays out
    expect((await api.del('/v1/security/bans/username/pbx')).status).toBe(204);
    const c3 = await pbx.challenge();
    expect((await pbx.answer(c3 ?? held, PASSWORD)).status).toBe(486); // admitted; the emulator's busy number
    expect(await attacker.challenge()).toBeUndefined();
    expect((await api.del('/v1/security/bans/username/pbx')).json).toMatchObject({ code: 'BAN_NOT_FOUND' });
    // lift everything
    expect((await api.del('/v1/security/bans')).json).toEqual({ lifted: 1 });
    const c4 = await attacker.challenge();
    if (c4 === undefined) throw new Error('the lifted source gets a challenge again');
    expect((await attacker.answer(c4, PASSWORD)).status).toBe(486);
    expect(sampleValue(await api.metrics(), 'trunkgate_digest_banned', { kind: 'source' })).toBe(0);
  });

  it('1,501 guesses against one nonce, the right password last: only the first is checked, then the nonce is used up and the source banned; nothing is found', async () => {
    const g = await credentialsGateway();
    const attacker = await Pbx.open(g);
    const c = await attacker.challenge();
    if (c === undefined) throw new Error('expected a 407');
    const started = performance.now();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1501; i++) {
      const res = await attacker.answer(c, i === 1500 ? PASSWORD : `guess-${i}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`one-nonce run: 1,501 guesses in ${seconds.toFixed(1)} s, answers ${JSON.stringify(Object.fromEntries(statuses))}; password found: no`);
    expect(Object.fromEntries(statuses)).toEqual({ 403: 1501 });
    expect(g.b2bua.stats.started).toBe(0);
    // 1 wrong password + 9 attempts on the used-up nonce reach the threshold; the other 1,491 are refused as banned
    expect(g.alerts.counts.get(32202)).toBe(10);
    expect(g.auth.stats.failures).toBe(10);
    expect(g.auth.stats.refusedWhileBanned).toBe(1491);
  });

  it('a forged or foreign nonce never counts (a spoofed source cannot get the real PBX banned), and normal digest calls never come near the threshold', async () => {
    const g = await credentialsGateway({ digest: { maxFailures: 2 } });
    const attacker = await Pbx.open(g, '127.0.0.2');
    const stolen = await attacker.challenge();
    if (stolen === undefined) throw new Error('expected a 407');
    // "from the PBX's address" with a nonce issued to the attacker, and with a forged one
    const pbx = await Pbx.open(g, '127.0.0.1');
    for (let i = 0; i < 5; i++) expect((await pbx.answer(stolen, `x${i}`)).status).toBe(403);
    for (let i = 0; i < 5; i++) expect((await pbx.answer({ nonce: `${Date.now().toString(16)}.00.00`, opaque: stolen.opaque }, 'y')).status).toBe(403);
    expect(g.auth.bans()).toEqual([]);
    // the PBX's own calls: one challenge each, no failure
    for (let i = 0; i < 5; i++) {
      const c = await pbx.challenge();
      if (c === undefined) throw new Error('expected a 407');
      expect((await pbx.answer(c, PASSWORD)).status).toBe(486);
    }
    expect(g.auth.stats.failures).toBe(0);
  });
});
