/**
 * Clients (issue 15) against real peers: SIP.js 0.21 user agents over
 * WebSocket (the `ws` package in this process) register to trunkgate with
 * their digest passwords, take calls placed through the Calls API by the
 * official `twilio` SDK and through `<Dial><Client>`, answer and hang up,
 * and place calls of their own that run the account's client voice
 * application (a real HTTP server checking every signature). Busy clients
 * get 486, unregistered ones 410, whether they never registered, their
 * registration expired or their WebSocket closed. After every test: no
 * lease held, none released twice, no registration left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { type SipJsUa, type SipJsUaOptions, startSipJsUa } from '../support/sipjs-ua.js';
import { twilioClient } from '../support/twilio-client.js';
import { type VoiceApp, startVoiceApp } from '../support/voice-app.js';
import { waitFor } from '../support/wait-for.js';

const SID = 'AC' + 'c1'.repeat(16);
const TOKEN = 'test-auth-token-15';
const DOMAIN = 'demo.client.twilio.com';
const FROM = '+15017122661';
const CLIENTS = ['alice', 'bob', 'carol', 'dave'].map((identity) => ({ identity, password: `${identity}-pass-15` }));
const password = (identity: string): string => `${identity}-pass-15`;

let gateway: Gateway | undefined;
let app: VoiceApp | undefined;
const uas: SipJsUa[] = [];
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const ua of uas.splice(0)) await ua.stop().catch(() => undefined);
  for (const c of closers.splice(0)) c();
  const g = gateway;
  if (g !== undefined) {
    await expectAllReleased(g);
    await waitFor(() => g.voice.liveCalls === 0 && g.registrar.callsInProgress === 0, { what: 'voice calls and client calls to end', detail: () => `live ${g.voice.liveCalls}, client calls ${g.registrar.callsInProgress}` });
    await waitFor(() => g.registrar.list(Date.now()).length === 0, { what: 'registrations to return to 0', detail: () => `${g.registrar.count} left` });
    await g.stop();
  }
  gateway = undefined;
  await app?.close();
  app = undefined;
});

async function clientGateway(voiceUrl: string | null = null, patch: Record<string, unknown> = {}): Promise<Gateway> {
  gateway = await startTestGateway({
    sip: { listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0', 'ws://127.0.0.1:0'], clientRegistration: { minExpiresSeconds: 1 } },
    accounts: [{ name: 'demo', sid: SID, type: 'business-pcp', authToken: TOKEN, voiceCps: 100, clients: CLIENTS, clientVoiceUrl: voiceUrl }],
    ...patch,
  });
  return gateway;
}

function wsUrl(g: Gateway): string {
  return `ws://127.0.0.1:${g.address('ws').port}`;
}

async function ua(g: Gateway, identity: string, options: Partial<SipJsUaOptions> & { register?: boolean } = {}): Promise<SipJsUa> {
  const u = await startSipJsUa({ identity, domain: DOMAIN, server: wsUrl(g), password: password(identity), incoming: 'ring', ...options });
  uas.push(u);
  return u;
}

function sdk(g: Gateway) {
  const a = g.httpAddress;
  if (a === undefined) throw new Error('no HTTP');
  const c = twilioClient({ accountSid: SID, authToken: TOKEN, baseUrl: `http://${a.host}:${a.port}`, timeout: 10_000 });
  closers.push(() => c.close());
  return c.client;
}

function alerts(g: Gateway, code: number): string[] {
  return g.alerts
    .list()
    .filter((a) => a.code === code)
    .map((a) => a.detail ?? '');
}

interface Registration {
  identity: string;
  aor: string;
  transport: string;
  contact: string;
  inCall: boolean;
  expiresInSeconds: number;
}

async function registrations(g: Gateway): Promise<Registration[]> {
  const r = await adminClient(g).get<{ count: number; registrations: Registration[] }>('/v1/clients');
  expect(r.status).toBe(200);
  return r.json.registrations;
}

async function finalStatus(client: ReturnType<typeof sdk>, sid: string, status: string): Promise<void> {
  await waitFor(async () => (await client.calls(sid).fetch()).status === status, { what: `call ${sid} to be ${status}`, detail: () => '' });
}

const HOLD = '<Response><Pause length="30"/></Response>';

describe('clients register over WebSocket (SIP.js)', () => {
  it('registers with its digest password; /v1/clients lists the binding; un-registering removes it', async () => {
    const g = await clientGateway();
    const alice = await ua(g, 'alice');
    // SIP.js answered the 401 with its MD5 digest: the REGISTER that counted was the second
    expect(alice.registerResponses).toEqual([200]);
    const list = await registrations(g);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ identity: 'alice', aor: `sip:alice@${DOMAIN}`, transport: 'ws', inCall: false });
    expect(list[0]?.contact).toMatch(/^sip:[^@]+@[^;]+\.invalid;transport=ws$/);
    expect(list[0]?.expiresInSeconds).toBeGreaterThan(590);
    await alice.unregister();
    expect(await registrations(g)).toEqual([]);
    const metrics = await adminClient(g).metrics();
    expect(metrics).toMatch(/trunkgate_client_requests_total\{method="REGISTER",outcome="challenged"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/trunkgate_client_registrations_removed_total\{reason="unregistered"[^}]*\} 1/);
  });

  it('a wrong password is refused 403 after the challenge; an identity that is not configured too', async () => {
    const g = await clientGateway();
    await expect(ua(g, 'alice', { password: 'wrong-password' })).rejects.toMatchObject({ statusCode: 403 });
    await expect(ua(g, 'mallory', { password: 'whatever-pass' })).rejects.toMatchObject({ statusCode: 403 });
    expect(await registrations(g)).toEqual([]);
  });

  it('a REGISTER to a trunk termination domain still gets 405', async () => {
    const g = await clientGateway();
    await expect(ua(g, 'alice', { domain: 'demo.pstn.twilio.com' })).rejects.toMatchObject({ statusCode: 405 });
  });
});

describe('calls to clients', () => {
  it('a call placed through the Calls API rings the registered client over its WebSocket; it answers, then hangs up', async () => {
    const g = await clientGateway();
    app = await startVoiceApp(TOKEN, { '/status': { body: 'ok' } });
    const alice = await ua(g, 'alice');
    const client = sdk(g);
    const call = await client.calls.create({ to: 'client:alice', from: FROM, twiml: HOLD, statusCallback: `${app.base}/status`, statusCallbackEvent: ['ringing', 'answered', 'completed'] });
    const incoming = await alice.nextIncoming();
    expect(incoming.requestUri).toMatch(/\.invalid;transport=ws$/);
    expect(incoming.to).toBe(`sip:alice@${DOMAIN}`);
    expect(incoming.from).toMatch(/^sip:\+15017122661@/);
    await finalStatus(client, call.sid, 'ringing');
    expect((await registrations(g))[0]?.inCall).toBe(true);
    await incoming.accept();
    await incoming.established();
    expect(incoming.remoteSdp()).toMatch(/^m=audio \d+ RTP\/AVP/m);
    await finalStatus(client, call.sid, 'in-progress');
    await incoming.hangup();
    await finalStatus(client, call.sid, 'completed');
    const callbacks = await app.waitFor('/status', 3);
    expect(callbacks.map((c) => c.params['CallStatus'])).toEqual(['ringing', 'in-progress', 'completed']);
    expect(callbacks[2]?.params).toMatchObject({ To: 'client:alice', SipResponseCode: '200' });
    expect((await registrations(g))[0]?.inCall).toBe(false);
  });

  it('a second call to a client already in a call gets 486 Busy Here: status busy, alert 31486; <Dial><Client> reports DialCallStatus busy', async () => {
    const g = await clientGateway();
    app = await startVoiceApp(TOKEN, {
      '/status': { body: 'ok' },
      '/dial': { twiml: '<Response><Dial action="/after"><Client>alice</Client></Dial></Response>' },
      '/after': { twiml: '<Response><Hangup/></Response>' },
    });
    const alice = await ua(g, 'alice', { incoming: 'answer' });
    const client = sdk(g);
    const first = await client.calls.create({ to: 'client:alice', from: FROM, twiml: HOLD });
    await finalStatus(client, first.sid, 'in-progress');
    const second = await client.calls.create({ to: 'client:alice', from: FROM, twiml: HOLD, statusCallback: `${app.base}/status` });
    await finalStatus(client, second.sid, 'busy');
    const [done] = await app.waitFor('/status');
    expect(done?.params).toMatchObject({ CallStatus: 'busy', SipResponseCode: '486' });
    expect(alerts(g, 31486)).toEqual(['client:alice is in a call: 486 Busy Here']);
    // the same through <Dial><Client> from a call to the PSTN emulator
    const parent = await client.calls.create({ to: '+14155550100', from: FROM, url: `${app.base}/dial` });
    const [after] = await app.waitFor('/after');
    expect(after?.params).toMatchObject({ CallSid: parent.sid, DialCallStatus: 'busy' });
    const legs = await client.calls.list({ parentCallSid: parent.sid });
    expect(legs.map((l) => [l.to, l.status])).toEqual([['client:alice', 'busy']]);
    expect(alice.incoming).toHaveLength(1);
    await client.calls(first.sid).update({ status: 'completed' });
    await finalStatus(client, first.sid, 'completed');
  });

  it('a call to a client that is not registered gets 410 Gone (status no-answer, alert 31480)', async () => {
    const g = await clientGateway();
    app = await startVoiceApp(TOKEN, { '/status': { body: 'ok' } });
    const client = sdk(g);
    const call = await client.calls.create({ to: 'client:carol', from: FROM, twiml: HOLD, statusCallback: `${app.base}/status` });
    await finalStatus(client, call.sid, 'no-answer');
    const [done] = await app.waitFor('/status');
    expect(done?.params).toMatchObject({ CallStatus: 'no-answer', SipResponseCode: '410' });
    expect(alerts(g, 31480)).toEqual(['client:carol is not registered: 410 Gone']);
  });

  it('a registration that expires (no refresh came) makes the next call 410', async () => {
    const g = await clientGateway();
    const alice = await ua(g, 'alice', { expires: 2 });
    expect(await registrations(g)).toHaveLength(1);
    // the device goes quiet: SIP.js's refresh timer is stopped, the WebSocket stays open
    (alice.registerer as unknown as { clearTimers(): void }).clearTimers();
    await waitFor(async () => (await registrations(g)).length === 0, { what: 'the registration to expire', timeoutMs: 5000 });
    expect(g.transport.connectionCount).toBe(1);
    const client = sdk(g);
    const call = await client.calls.create({ to: 'client:alice', from: FROM, twiml: HOLD });
    await finalStatus(client, call.sid, 'no-answer');
    expect(alerts(g, 31480)).toHaveLength(1);
    expect(alice.incoming).toHaveLength(0);
    expect(await adminClient(g).metrics()).toMatch(/trunkgate_client_registrations_removed_total\{reason="expired"[^}]*\} 1/);
  });

  it('a client whose WebSocket closes is unregistered at once: the next call gets 410; a call ringing it fails', async () => {
    const g = await clientGateway();
    const alice = await ua(g, 'alice');
    const bob = await ua(g, 'bob');
    const client = sdk(g);
    const ringing = await client.calls.create({ to: 'client:bob', from: FROM, twiml: HOLD });
    await bob.nextIncoming();
    // both WebSockets close without an un-REGISTER (a browser tab closed)
    await alice.userAgent.transport.disconnect();
    await bob.userAgent.transport.disconnect();
    await waitFor(async () => (await registrations(g)).length === 0, { what: 'the registrations to go with their flows' });
    await finalStatus(client, ringing.sid, 'failed');
    const call = await client.calls.create({ to: 'client:alice', from: FROM, twiml: HOLD });
    await finalStatus(client, call.sid, 'no-answer');
    expect(alerts(g, 31480)).toEqual(['client:alice is not registered: 410 Gone']);
    expect(await adminClient(g).metrics()).toMatch(/trunkgate_client_registrations_removed_total\{reason="flow-closed"[^}]*\} 2/);
  });
});

describe('calls from clients', () => {
  it("a client's INVITE is challenged (407), then runs the client voice application: <Dial><Client> rings another client, both talk, the caller hangs up", async () => {
    app = await startVoiceApp(TOKEN, { '/client-voice': { twiml: '<Response><Dial><Client>alice</Client></Dial></Response>' } });
    const g = await clientGateway(`${app.base}/client-voice`);
    const alice = await ua(g, 'alice', { incoming: 'answer' });
    const bob = await ua(g, 'bob');
    const out = await bob.call('alice');
    await out.established();
    expect(out.provisional).toContain(180);
    const [fetch] = await app.waitFor('/client-voice');
    expect(fetch?.signatureValid).toBe(true);
    expect(fetch?.params).toMatchObject({ AccountSid: SID, From: 'client:bob', To: 'alice', Direction: 'inbound', CallStatus: 'ringing' });
    const incoming = await alice.nextIncoming();
    await incoming.established();
    expect(incoming.from).toMatch(/^sip:bob@/);
    // both are in a call: a third call to either is busy
    const client = sdk(g);
    const busy = await client.calls.create({ to: 'client:bob', from: FROM, twiml: HOLD });
    await finalStatus(client, busy.sid, 'busy');
    await out.hangup();
    await incoming.terminated();
    const calls = await client.calls.list({});
    const inbound = calls.find((c) => c.direction === 'inbound');
    expect(inbound).toMatchObject({ from: 'client:bob', to: 'alice', status: 'completed' });
    const leg = calls.find((c) => c.parentCallSid === inbound?.sid);
    expect(leg).toMatchObject({ to: 'client:alice', direction: 'outbound-dial', status: 'completed' });
  });

  it('<Reject reason="busy"> as the first verb refuses the client call 486, unanswered', async () => {
    app = await startVoiceApp(TOKEN, { '/client-voice': { twiml: '<Response><Reject reason="busy"/></Response>' } });
    const g = await clientGateway(`${app.base}/client-voice`);
    const bob = await ua(g, 'bob');
    const out = await bob.call('+14155550123');
    expect(await out.final()).toBe(486);
    const inbound = (await sdk(g).calls.list({})).find((c) => c.direction === 'inbound');
    expect(inbound).toMatchObject({ to: '+14155550123', status: 'busy' });
  });

  it('an account without clientVoiceUrl answers its clients 404; a wrong password gets 403', async () => {
    const g = await clientGateway(null);
    const bob = await ua(g, 'bob');
    expect(await (await bob.call('alice')).final()).toBe(404);
    const mallory = await ua(g, 'carol', { password: 'not-the-password', register: false });
    expect(await (await mallory.call('alice')).final()).toBe(403);
  });
});
