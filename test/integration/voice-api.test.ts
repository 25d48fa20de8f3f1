/**
 * Programmable Voice against real clients (issue 14): the official `twilio`
 * SDK creates, lists, fetches, updates, cancels and deletes calls on a
 * gateway started in-process; a real HTTP server plays the application
 * (serves TwiML, takes status callbacks and <Dial> actions) and checks every
 * signature with the SDK's own validateRequest; SIPp's uas answers a call to
 * a sip: URI. After every test: no lease held, none released twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient, sampleValue } from '../support/http.js';
import { startSipp } from '../support/sipp.js';
import { isRestException, twilioClient } from '../support/twilio-client.js';
import { type VoiceApp, startVoiceApp } from '../support/voice-app.js';
import { waitFor } from '../support/wait-for.js';

const SID = 'AC' + 'a1'.repeat(16);
const TOKEN = 'test-auth-token-14';
const KEY_SID = 'SK' + 'b2'.repeat(16);
const KEY_SECRET = 'test-key-secret-14';
const FROM = '+15017122661';

let gateway: Gateway | undefined;
let app: VoiceApp | undefined;
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const c of closers.splice(0)) c();
  if (gateway !== undefined) await expectAllReleased(gateway);
  await gateway?.stop();
  gateway = undefined;
  await app?.close();
  app = undefined;
});

function account(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'demo', sid: SID, type: 'business-pcp', authToken: TOKEN, apiKeys: [{ sid: KEY_SID, secret: KEY_SECRET }], voiceCps: 100, geoPermissions: ['1', '44'], ...extra };
}

async function voiceGateway(patch: Record<string, unknown> = {}): Promise<Gateway> {
  gateway = await startTestGateway({ accounts: [account()], ...patch });
  return gateway;
}

function baseUrl(g: Gateway): string {
  const a = g.httpAddress;
  if (a === undefined) throw new Error('no HTTP server');
  return `http://${a.host}:${a.port}`;
}

function sdk(g: Gateway, credentials: { authToken: string } | { apiKeySid: string; apiKeySecret: string } = { authToken: TOKEN }) {
  const c = twilioClient({ accountSid: SID, ...credentials, baseUrl: baseUrl(g), timeout: 10_000 });
  closers.push(() => c.close());
  return c.client;
}

/** A raw form POST (for what the SDK refuses to send). */
async function postForm(g: Gateway, path: string, form: Record<string, string>, auth = `${SID}:${TOKEN}`): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(baseUrl(g) + path, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function expectRestError(p: Promise<unknown>, status: number, code: number): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRestException(err), `expected a RestException, got ${String(err)}`).toBe(true);
  if (!isRestException(err)) return;
  expect(err.status).toBe(status);
  expect(err.code).toBe(code);
  expect(err.moreInfo).toBe(`https://www.twilio.com/docs/errors/${code}`);
  expect(typeof err.message).toBe('string');
}

function alerts(g: Gateway, code: number): string[] {
  return g.alerts
    .list()
    .filter((a) => a.code === code)
    .map((a) => a.detail ?? '');
}

describe('the Calls API through the official twilio SDK', () => {
  it('creates a call; the app gets a signed TwiML fetch and every status callback in order; fetch and list parse', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, { '/voice': { twiml: '<?xml version="1.0"?><Response><Say>Hello from trunkgate</Say><Pause length="1"/></Response>' }, '/status': { body: 'ok' } });
    const client = sdk(g);
    const created = await client.calls.create({
      to: '+14155550123',
      from: FROM,
      url: `${app.base}/voice?campaign=7`,
      statusCallback: `${app.base}/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(created.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(created.accountSid).toBe(SID);
    expect(created.to).toBe('+14155550123');
    expect(created.from).toBe(FROM);
    expect(created.direction).toBe('outbound-api');
    expect(created.apiVersion).toBe('2010-04-01');
    expect(Number(created.queueTime)).toBeLessThan(100); // placed at once: CPS 100, empty queue
    expect(created.dateCreated).toBeInstanceOf(Date);
    expect(created.uri).toBe(`/2010-04-01/Accounts/${SID}/Calls/${created.sid}.json`);

    const [fetchTwiml] = await app.waitFor('/voice');
    expect(fetchTwiml?.method).toBe('POST');
    expect(fetchTwiml?.signatureValid).toBe(true);
    expect(fetchTwiml?.params).toMatchObject({ CallSid: created.sid, AccountSid: SID, From: FROM, To: '+14155550123', CallStatus: 'in-progress', Direction: 'outbound-api', ApiVersion: '2010-04-01', Caller: FROM, Called: '+14155550123' });

    const callbacks = await app.waitFor('/status', 4);
    expect(callbacks.map((c) => c.params['CallStatus'])).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(callbacks.map((c) => c.params['SequenceNumber'])).toEqual(['0', '1', '2', '3']);
    for (const c of callbacks) {
      expect(c.signatureValid, `signature of ${c.params['CallStatus']}`).toBe(true);
      expect(c.params['CallbackSource']).toBe('call-progress-events');
      expect(c.params['Timestamp']).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    }
    const last = callbacks[3]?.params ?? {};
    expect(last['SipResponseCode']).toBe('200');
    // <Say> (~1.5 s for 20 characters) and <Pause length="1"> took their time
    expect(Number(last['CallDuration'])).toBeGreaterThanOrEqual(2);
    expect(last['Duration']).toBe('1');

    const fetched = await client.calls(created.sid).fetch();
    expect(fetched.status).toBe('completed');
    expect(fetched.startTime).toBeInstanceOf(Date);
    expect(fetched.endTime).toBeInstanceOf(Date);
    expect(Number(fetched.duration)).toBeGreaterThanOrEqual(2);

    const listed = await client.calls.list({ to: '+14155550123', status: 'completed' });
    expect(listed.map((c) => c.sid)).toEqual([created.sid]);
    expect(await client.calls.list({ status: 'busy' })).toEqual([]);
  });

  it('API key auth works; a wrong token or key gets 401 with code 20003, an unknown call 404 with 20404', async () => {
    const g = await voiceGateway();
    const byKey = sdk(g, { apiKeySid: KEY_SID, apiKeySecret: KEY_SECRET });
    const call = await byKey.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response><Hangup/></Response>' });
    expect(call.status).toMatch(/queued|ringing/);
    await expectRestError(sdk(g, { authToken: 'wrong-token-123' }).calls.list(), 401, 20003);
    await expectRestError(sdk(g, { apiKeySid: KEY_SID, apiKeySecret: 'wrong-secret-123' }).calls.list(), 401, 20003);
    await expectRestError(byKey.calls('CA' + '0'.repeat(32)).fetch(), 404, 20404);
    await waitFor(async () => (await byKey.calls(call.sid).fetch()).status === 'completed', { what: 'the call to end' });
  });

  it('validation errors carry the provider codes', async () => {
    const g = await voiceGateway();
    const path = `/2010-04-01/Accounts/${SID}/Calls.json`;
    const cases: Array<[Record<string, string>, number]> = [
      [{ From: FROM, Url: 'http://127.0.0.1:9/x' }, 21201],
      [{ To: '555-0100', From: FROM, Url: 'http://127.0.0.1:9/x' }, 21211],
      [{ To: '+14155550123', Url: 'http://127.0.0.1:9/x' }, 21213],
      [{ To: '+14155550123', From: 'alice', Url: 'http://127.0.0.1:9/x' }, 21212],
      [{ To: '+14155550123', From: FROM }, 21205],
      [{ To: '+14155550123', From: FROM, Url: 'ftp://example.com/x' }, 21205],
      [{ To: '+14155550123', From: FROM, Url: 'http://127.0.0.1:9/x', Method: 'PUT' }, 21209],
      [{ To: '+14155550123', From: FROM, Url: 'http://127.0.0.1:9/x', Timeout: 'soon' }, 21208],
      [{ To: '+14155550123', From: FROM, Twiml: `<Response><Say>${'a'.repeat(4000)}</Say></Response>` }, 32018],
      [{ To: '+14155550123', From: FROM, ApplicationSid: 'AP' + '1'.repeat(32) }, 21218],
      [{ To: '+33155550123', From: FROM, Url: 'http://127.0.0.1:9/x' }, 21215],
      [{ To: '+19005550123', From: FROM, Url: 'http://127.0.0.1:9/x' }, 21216],
    ];
    for (const [form, code] of cases) {
      const r = await postForm(g, path, form);
      expect(r.status, JSON.stringify(form).slice(0, 80)).toBe(400);
      expect(r.json).toEqual({ code, message: expect.any(String), more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
    }
    // Url and Twiml both: the provider uses Url and warns (32019)
    app = await startVoiceApp(TOKEN, { '/voice': { twiml: '<Response><Hangup/></Response>' } });
    const both = await postForm(g, path, { To: '+14155550123', From: FROM, Url: `${app.base}/voice`, Twiml: '<Response><Pause length="30"/></Response>' });
    expect(both.status).toBe(201);
    await app.waitFor('/voice');
    expect(alerts(g, 32019)).toHaveLength(1);
    await waitFor(() => g.voice.liveCalls === 0, { what: 'the call to end' });
    // a trial account calls only verified numbers (21219)
    const trial = await postForm(g, path, { To: '+14155550199', From: FROM, Url: 'http://127.0.0.1:9/x' });
    expect(trial.status).toBe(201); // business account: any +1 number
  });

  it('update: Status=completed hangs up a call in progress, Url redirects it; an ended call gets 21220; delete', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, {
      '/long': { twiml: '<Response><Pause length="30"/></Response>' },
      '/next': { twiml: '<Response><Say>redirected</Say><Pause length="30"/></Response>' },
      '/status': { body: '' },
    });
    const client = sdk(g);
    const call = await client.calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/long`, statusCallback: `${app.base}/status` });
    await app.waitFor('/long');
    const live = await client.calls(call.sid).fetch();
    expect(live.status).toBe('in-progress');
    // canceled does not touch a call in progress
    expect((await client.calls(call.sid).update({ status: 'canceled' })).status).toBe('in-progress');
    const redirected = await client.calls(call.sid).update({ url: `${app.base}/next`, method: 'GET' });
    expect(redirected.status).toBe('in-progress');
    const [next] = await app.waitFor('/next');
    expect(next?.method).toBe('GET');
    expect(next?.signatureValid).toBe(true);
    expect(next?.params['CallSid']).toBe(call.sid);
    const ended = await client.calls(call.sid).update({ status: 'completed' });
    expect(ended.status).toBe('completed');
    const [cb] = await app.waitFor('/status');
    expect(cb?.params['CallStatus']).toBe('completed');
    await expectRestError(client.calls(call.sid).update({ url: `${app.base}/next` }), 400, 21220);
    expect(await client.calls(call.sid).remove()).toBe(true);
    await expectRestError(client.calls(call.sid).fetch(), 404, 20404);
  });

  it('delete of a live call is refused (21220); Timeout ends an unanswered call no-answer with SipResponseCode 487', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, { '/status': { body: '' } });
    const client = sdk(g);
    const call = await client.calls.create({ to: '+15550004801', from: FROM, twiml: '<Response><Hangup/></Response>', timeout: 1, statusCallback: `${app.base}/status` });
    await expectRestError(client.calls(call.sid).remove(), 400, 21220);
    const [cb] = await app.waitFor('/status');
    expect(cb?.params).toMatchObject({ CallStatus: 'no-answer', SipResponseCode: '487', CallDuration: '0' });
    expect((await client.calls(call.sid).fetch()).status).toBe('no-answer');
  });

  it('busy and failed far ends map to busy and failed', async () => {
    const g = await voiceGateway();
    const client = sdk(g);
    const busy = await client.calls.create({ to: '+15550004861', from: FROM, twiml: '<Response/>' });
    const failed = await client.calls.create({ to: '+15550005031', from: FROM, twiml: '<Response/>' });
    await waitFor(() => g.voice.liveCalls === 0, { what: 'both calls to end' });
    expect((await client.calls(busy.sid).fetch()).status).toBe('busy');
    expect((await client.calls(failed.sid).fetch()).status).toBe('failed');
  });

  it('lists with paging: the SDK follows next_page_uri', async () => {
    const g = await voiceGateway();
    const client = sdk(g);
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) sids.push((await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response><Hangup/></Response>' })).sid);
    const all = await client.calls.list({ pageSize: 2 });
    expect(all.map((c) => c.sid)).toEqual([...sids].reverse());
    const page = await client.calls.page({ pageSize: 2 });
    expect(page.instances).toHaveLength(2);
    const second = await page.nextPage();
    expect(second?.instances.map((c) => c.sid)).toEqual([sids[2], sids[1]]);
    await waitFor(() => g.voice.liveCalls === 0, { what: 'the calls to end' });
  });
});

describe('webhooks: fallbacks and the provider alerts', () => {
  it('Url answering 500 raises 11200 and FallbackUrl is fetched with ErrorCode and ErrorUrl', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, { '/broken': { status: 500, body: 'oops' }, '/fallback': { twiml: '<Response><Hangup/></Response>' } });
    const call = await sdk(g).calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/broken`, fallbackUrl: `${app.base}/fallback` });
    const [fb] = await app.waitFor('/fallback');
    expect(fb?.signatureValid).toBe(true);
    expect(fb?.params).toMatchObject({ CallSid: call.sid, ErrorCode: '11200', ErrorUrl: `${app.base}/broken` });
    expect(alerts(g, 11200)[0]).toContain('HTTP 500');
  });

  it('invalid TwiML raises 12100 and goes to the fallback; a refused connection raises 11205 and the call hangs up', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, { '/bad': { twiml: '<Response><Say>unclosed</Response>' }, '/fallback': { twiml: '<Response><Pause length="1"/></Response>' } });
    const client = sdk(g);
    await client.calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/bad`, fallbackUrl: `${app.base}/fallback` });
    await app.waitFor('/fallback');
    expect(alerts(g, 12100)[0]).toContain('not well-formed');
    const refused = await client.calls.create({ to: '+14155550123', from: FROM, url: 'http://127.0.0.1:9/nothing-listens' });
    await waitFor(async () => (await client.calls(refused.sid).fetch()).status === 'completed', { what: 'the call to hang up' });
    expect(alerts(g, 11205)).toHaveLength(1);
  });
});

describe('<Dial>', () => {
  it('<Dial><Number> busy and no-answer: the action gets DialCallStatus; the child legs are listed under the parent', async () => {
    const g = await voiceGateway({ pstn: { answerAfterMs: 0, ringTimeoutMs: 300 } });
    app = await startVoiceApp(TOKEN, {
      '/dial-busy': { twiml: '<Response><Dial action="/after" timeout="10"><Number>+15550004861</Number></Dial></Response>' },
      '/dial-noanswer': { twiml: '<Response><Dial action="/after"><Number>+15550004801</Number></Dial></Response>' },
      '/after': { twiml: '<Response><Hangup/></Response>' },
    });
    const client = sdk(g);
    const a = await client.calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/dial-busy` });
    const b = await client.calls.create({ to: '+14155550124', from: FROM, url: `${app.base}/dial-noanswer` });
    const after = await app.waitFor('/after', 2);
    const bySid = new Map(after.map((r) => [r.params['CallSid'], r.params]));
    expect(bySid.get(a.sid)).toMatchObject({ DialCallStatus: 'busy', DialBridged: 'false' });
    expect(bySid.get(b.sid)).toMatchObject({ DialCallStatus: 'no-answer' });
    for (const r of after) expect(r.signatureValid).toBe(true);
    const children = await client.calls.list({ parentCallSid: a.sid });
    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({ direction: 'outbound-dial', status: 'busy', to: '+15550004861', parentCallSid: a.sid });
  });

  it('<Dial> answered: bridged until the dialled party hangs up; DialCallStatus completed with DialCallDuration', async () => {
    const g = await voiceGateway({ pstn: { answerAfterMs: 0, rules: [{ number: '+1415555999*', behaviour: 'hangup-after', hangupAfterMs: 1200 }] } });
    app = await startVoiceApp(TOKEN, { '/dial': { twiml: '<Response><Dial action="/after"><Number>+14155559990</Number></Dial></Response>' }, '/after': { twiml: '<Response/>' } });
    const call = await sdk(g).calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/dial` });
    const [after] = await app.waitFor('/after');
    expect(after?.params).toMatchObject({ CallSid: call.sid, DialCallStatus: 'completed', DialBridged: 'true', DialCallDuration: '1' });
    expect(after?.params['DialCallSid']).toMatch(/^CA/);
  });

  it('<Client> with no registration: DialCallStatus no-answer (410, alert 31480); <Conference> holds the call until the room ends; To=client: gets 410', async () => {
    const g = await voiceGateway();
    app = await startVoiceApp(TOKEN, {
      '/client': { twiml: '<Response><Dial action="/after"><Client>alice</Client></Dial></Response>' },
      '/conf': { twiml: '<Response><Dial action="/after"><Conference>room</Conference></Dial></Response>' },
      '/after': { twiml: '<Response/>' },
      '/status': { body: '' },
    });
    const client = sdk(g);
    const toClient = await client.calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/client` });
    const [afterClient] = await app.waitFor('/after');
    expect(afterClient?.params).toMatchObject({ CallSid: toClient.sid, DialCallStatus: 'no-answer' });
    expect(alerts(g, 31480)).toEqual(['<Dial><Client>: client:alice is not registered: 410 Gone']);
    // the conference: the only participant stays in the room (no <Dial> action yet) until the room is ended through the API
    const inRoom = await client.calls.create({ to: '+14155550124', from: FROM, url: `${app.base}/conf` });
    await waitFor(() => g.voice.conferences.participantCount === 1, { what: 'the call to join the room' });
    expect(app.requests.filter((r) => r.path === '/after')).toHaveLength(1);
    const [room] = await client.conferences.list({ friendlyName: 'room', status: 'in-progress' });
    expect(room).toBeDefined();
    await client.conferences(room?.sid ?? '').update({ status: 'completed' });
    const after = await app.waitFor('/after', 2);
    expect(after[1]?.params).toMatchObject({ CallSid: inRoom.sid, DialCallStatus: 'completed' });
    expect(alerts(g, 16022)).toEqual([]);
    await client.calls.create({ to: 'client:bob', from: FROM, twiml: '<Response/>', statusCallback: `${app.base}/status` });
    const [cb] = await app.waitFor('/status');
    expect(cb?.params).toMatchObject({ CallStatus: 'no-answer', SipResponseCode: '410', To: 'client:bob' });
  });
});

describe('To a sip: URI', () => {
  it('SIPp uas answers the INVITE trunkgate sends; the TwiML runs, then trunkgate sends BYE', async () => {
    const g = await voiceGateway();
    const uas = await startSipp({ scenario: 'uas', calls: 1, timeoutSeconds: 30 });
    app = await startVoiceApp(TOKEN, { '/status': { body: '' } });
    const call = await sdk(g).calls.create({ to: `sip:alice@127.0.0.1:${uas.localPort}`, from: FROM, twiml: '<Response><Say>hello SIPp</Say></Response>', statusCallback: `${app.base}/status` });
    const r = await uas.done;
    expect(r.failed, `${r.errorLog ?? ''}${r.stderr}`).toBe(0);
    expect(r.successful).toBe(1);
    const [cb] = await app.waitFor('/status');
    expect(cb?.params).toMatchObject({ CallSid: call.sid, CallStatus: 'completed', SipResponseCode: '200', To: `sip:alice@127.0.0.1:${uas.localPort}` });
  });
});

describe('observability', () => {
  it('metrics count API requests by outcome and webhooks; /v1/voice/queues shows the queue', async () => {
    const g = await voiceGateway();
    const client = sdk(g);
    await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>' });
    await expectRestError(sdk(g, { authToken: 'nope-nope-nope' }).calls.list(), 401, 20003);
    const admin = adminClient(g);
    const queues = await admin.get<Array<Record<string, unknown>>>('/v1/voice/queues');
    expect(queues.status).toBe(200);
    expect(queues.json[0]).toMatchObject({ account: 'demo', accountSid: SID, voiceCps: 100, depth: 0, capacity: 8_640_000, concurrency: { cap: null } });
    expect((await admin.get('/v1/voice/queues/nobody')).status).toBe(404);
    const text = await admin.metrics();
    expect(sampleValue(text, 'trunkgate_voice_api_requests_total', { operation: 'create', outcome: 'success' })).toBe(1);
    expect(sampleValue(text, 'trunkgate_voice_api_requests_total', { operation: 'auth', outcome: 'unauthorized' })).toBe(1);
    expect(sampleValue(text, 'trunkgate_voice_queue_depth', { account: 'demo' })).toBe(0);
    await waitFor(() => g.voice.liveCalls === 0, { what: 'the call to end' });
  });
});
