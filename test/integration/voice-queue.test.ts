/**
 * The Programmable Voice CPS queue against the official SDK (issue 14):
 * calls created at once are placed at the account's CPS with `queue_time`
 * growing by 1/CPS per position; the 22005 bound and the cancellation of
 * calls queued too long, with a short `voice.queueMaxWaitSeconds`; a trial
 * account's 6th concurrent call waits in the queue until one ends; the queue
 * survives a reload; calls still queued at shutdown are logged with their
 * SIDs. (30 calls at CPS 1 on a fake clock: test/unit/voice/call-queue.test.ts;
 * accuracy over 60 s: bench/voice.mjs.)
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type Gateway, createGateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway, testConfig } from '../support/gateway.js';
import { isRestException, twilioClient } from '../support/twilio-client.js';
import { type VoiceApp, startVoiceApp } from '../support/voice-app.js';
import { waitFor } from '../support/wait-for.js';

const SID = 'AC' + 'c3'.repeat(16);
const TOKEN = 'queue-auth-token-14';
const FROM = '+15017122661';

let gateway: Gateway | undefined;
let app: VoiceApp | undefined;
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const c of closers.splice(0)) c();
  if (gateway !== undefined) await expectAllReleased(gateway, 20_000);
  await gateway?.stop();
  gateway = undefined;
  await app?.close();
  app = undefined;
});

function patch(accountExtra: Record<string, unknown>, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { accounts: [{ name: 'demo', sid: SID, type: 'business-pcp', authToken: TOKEN, ...accountExtra }], ...rest };
}

function sdk(g: Gateway) {
  const a = g.httpAddress;
  if (a === undefined) throw new Error('no HTTP');
  const c = twilioClient({ accountSid: SID, authToken: TOKEN, baseUrl: `http://${a.host}:${a.port}`, timeout: 10_000 });
  closers.push(() => c.close());
  return c.client;
}

describe('the CPS queue', () => {
  it('10 calls created back to back at CPS 1: queue_time grows ~1000 ms per position and calls are placed one per second', async () => {
    gateway = await startTestGateway(patch({ voiceCps: 1 }));
    app = await startVoiceApp(TOKEN, { '/status': { body: '' } });
    const client = sdk(gateway);
    // created one after the other: the i-th waits i seconds from the first one's creation, less the time
    // that passed between the two creations (the bucket refills meanwhile); the request's own latency is the tolerance
    await client.calls.list({ limit: 1 }); // warm the client up: the first request is the slow one
    const created = [];
    const sentAt: number[] = [];
    const latency: number[] = [];
    for (let i = 0; i < 10; i++) {
      sentAt.push(performance.now());
      created.push(await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response><Hangup/></Response>', statusCallback: `${app.base}/status`, statusCallbackEvent: ['initiated'] }));
      latency.push(performance.now() - (sentAt[i] ?? 0));
    }
    const times = created.map((c) => Number(c.queueTime));
    times.forEach((t, i) => {
      const expected = i * 1000 - ((sentAt[i] ?? 0) - (sentAt[0] ?? 0));
      expect(Math.abs(t - expected), `position ${i}: queue_time ${t}, expected ~${Math.round(expected)}`).toBeLessThanOrEqual(50 + (latency[i] ?? 0) + (latency[0] ?? 0));
    });
    const initiated = await app.waitFor('/status', 10, 20_000);
    const gaps = initiated.slice(1).map((r, i) => r.at - (initiated[i]?.at ?? 0));
    for (const gap of gaps) expect(gap, `gaps between placements: ${gaps.map(Math.round).join(', ')}`).toBeGreaterThan(800);
    const span = (initiated[9]?.at ?? 0) - (initiated[0]?.at ?? 0);
    expect(span).toBeGreaterThan(8_800);
    expect(span).toBeLessThan(10_500);
    // once placed, queue_time is the wait it really had
    const fetched = await client.calls(created[9]?.sid ?? '').fetch();
    expect(Math.abs(Number(fetched.queueTime) - 9000)).toBeLessThan(600);
  }, 40_000);

  it('22005 once the queue holds queueMaxWaitSeconds of calls; calls queued longer are cancelled without callbacks', async () => {
    // cap 1 and a call holding it: the queue cannot move, so its calls age
    gateway = await startTestGateway(patch({ voiceCps: 2, limits: { voiceConcurrentCalls: 1 } }, { voice: { queueMaxWaitSeconds: 1.5 } }));
    app = await startVoiceApp(TOKEN, { '/status': { body: '' } });
    const client = sdk(gateway);
    const holder = await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response><Pause length="5"/></Response>' });
    await waitFor(() => gateway?.voice.liveCalls === 1, { what: 'the first call to be placed' });
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>', statusCallback: `${app.base}/status` }));
    expect(queued.map((c) => c.status)).toEqual(['queued', 'queued', 'queued']);
    const refused = await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRestException(refused) && refused.code === 22005 && refused.status === 400).toBe(true);
    for (const c of queued) {
      await waitFor(async () => (await client.calls(c.sid).fetch()).status === 'canceled', { timeoutMs: 5000, what: `${c.sid} to be cancelled for age` });
    }
    expect(app.to('/status')).toHaveLength(0);
    await client.calls(holder.sid).update({ status: 'completed' });
  });

  it('Status=canceled and Status=completed remove queued calls without callbacks', async () => {
    gateway = await startTestGateway(patch({ voiceCps: 0.2 }));
    app = await startVoiceApp(TOKEN, { '/status': { body: '' } });
    const client = sdk(gateway);
    await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>' });
    const a = await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>', statusCallback: `${app.base}/status` });
    const b = await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>', statusCallback: `${app.base}/status` });
    expect(Number(b.queueTime)).toBeGreaterThan(Number(a.queueTime));
    expect((await client.calls(a.sid).update({ status: 'canceled' })).status).toBe('canceled');
    expect((await client.calls(b.sid).update({ status: 'completed' })).status).toBe('canceled');
    expect(gateway.voice.queueViews()[0]?.depth).toBe(0);
    expect(app.to('/status')).toHaveLength(0);
  });

  it('a trial account (voice cap 5): the 6th concurrent call waits in the queue until one ends', async () => {
    gateway = await startTestGateway(patch({ type: 'trial', voiceCps: 100, verifiedNumbers: ['+14155550123'] }));
    app = await startVoiceApp(TOKEN, { '/hold': { twiml: '<Response><Pause length="30"/></Response>' } });
    const client = sdk(gateway);
    const calls = [];
    for (let i = 0; i < 6; i++) calls.push(await client.calls.create({ to: '+14155550123', from: FROM, url: `${app.base}/hold` }));
    await app.waitFor('/hold', 5);
    const sixth = calls[5]?.sid ?? '';
    expect((await client.calls(sixth).fetch()).status).toBe('queued');
    expect(gateway.voice.queueViews()[0]).toMatchObject({ depth: 1, waitingForConcurrency: true, concurrency: { active: 5, cap: 5 } });
    await client.calls(calls[0]?.sid ?? '').update({ status: 'completed' });
    await app.waitFor('/hold', 6);
    const placed = await client.calls(sixth).fetch();
    expect(placed.status).toBe('in-progress');
    expect(Number(placed.queueTime)).toBeGreaterThan(0);
    for (const c of calls.slice(1)) await client.calls(c.sid).update({ status: 'completed' });
  });

  it('the queue survives a reload, and a new voiceCps applies at once', async () => {
    gateway = await startTestGateway(patch({ voiceCps: 0.1 }));
    const client = sdk(gateway);
    const sids = [];
    for (let i = 0; i < 4; i++) sids.push((await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>' })).sid);
    expect(gateway.voice.queueViews()[0]?.depth).toBe(3);
    gateway.applyConfig(testConfig(patch({ voiceCps: 50 })));
    await waitFor(() => gateway?.voice.queueViews()[0]?.depth === 0, { timeoutMs: 3000, what: 'the queue to drain at the new CPS' });
    for (const sid of sids) await waitFor(async () => (await client.calls(sid).fetch()).status === 'completed', { what: `${sid} to complete` });
  });
});

describe('shutdown', () => {
  it('calls still queued at shutdown are logged with their SIDs', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const g = createGateway({ config: testConfig(patch({ voiceCps: 0.01 })), logger: pino({ level: 'info' }, sink) });
    await g.start();
    const client = sdk(g);
    const sids = [];
    for (let i = 0; i < 3; i++) sids.push((await client.calls.create({ to: '+14155550123', from: FROM, twiml: '<Response/>' })).sid);
    await waitFor(() => g.voice.liveCalls === 0, { what: 'the first call to end' });
    await g.stop();
    const entry = lines.map((l) => JSON.parse(l) as { msg: string; sids?: string[] }).find((l) => l.msg.includes('queued calls were never placed'));
    expect(entry?.sids).toEqual(sids.slice(1));
    expect(g.tracker.active).toBe(0);
  });
});
