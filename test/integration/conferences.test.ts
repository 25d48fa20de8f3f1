/**
 * Conferences (issue 15) against real peers: SIP.js user agents over
 * WebSocket join a room through `<Dial><Conference>`, the official `twilio`
 * SDK drives the Conferences and Participants resources, and the PSTN
 * emulator's numbers fill a 250-participant room. Signalling only: no audio
 * is mixed. After every test: no lease held, none released twice, no
 * registration or conference participant left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { type SipJsUa, startSipJsUa } from '../support/sipjs-ua.js';
import { isRestException, twilioClient } from '../support/twilio-client.js';
import { type VoiceApp, startVoiceApp } from '../support/voice-app.js';
import { waitFor } from '../support/wait-for.js';

const SID = 'AC' + 'cf'.repeat(16);
const TOKEN = 'test-auth-token-15c';
const DOMAIN = 'demo.client.twilio.com';
const FROM = '+15017122661';
const IDENTITIES = ['alice', 'bob', 'carol', 'dave'];

let gateway: Gateway | undefined;
let app: VoiceApp | undefined;
const uas: SipJsUa[] = [];
const closers: Array<() => void> = [];

afterEach(async () => {
  for (const ua of uas.splice(0)) await ua.stop().catch(() => undefined);
  for (const c of closers.splice(0)) c();
  const g = gateway;
  if (g !== undefined) {
    await waitFor(() => g.voice.liveCalls === 0, { what: 'voice calls to end', timeoutMs: 15_000, detail: () => `live ${g.voice.liveCalls}` });
    await expectAllReleased(g);
    await waitFor(() => g.registrar.list(Date.now()).length === 0, { what: 'registrations to return to 0' });
    expect(g.voice.conferences.participantCount).toBe(0);
    await g.stop();
  }
  gateway = undefined;
  await app?.close();
  app = undefined;
});

async function conferenceGateway(voiceCps = 1000): Promise<Gateway> {
  gateway = await startTestGateway({
    sip: { listen: ['udp://127.0.0.1:0', 'ws://127.0.0.1:0'] },
    accounts: [{ name: 'demo', sid: SID, type: 'business-pcp', authToken: TOKEN, voiceCps, clients: IDENTITIES.map((identity) => ({ identity, password: `${identity}-pass-15` })) }],
  });
  return gateway;
}

async function ua(g: Gateway, identity: string): Promise<SipJsUa> {
  const u = await startSipJsUa({ identity, domain: DOMAIN, server: `ws://127.0.0.1:${g.address('ws').port}`, password: `${identity}-pass-15`, incoming: 'answer' });
  uas.push(u);
  return u;
}

function sdk(g: Gateway) {
  const a = g.httpAddress;
  if (a === undefined) throw new Error('no HTTP');
  const c = twilioClient({ accountSid: SID, authToken: TOKEN, baseUrl: `http://${a.host}:${a.port}`, timeout: 15_000 });
  closers.push(() => c.close());
  return c.client;
}

function alerts(g: Gateway, code: number): string[] {
  return g.alerts
    .list()
    .filter((a) => a.code === code)
    .map((a) => a.detail ?? '');
}

async function status(client: ReturnType<typeof sdk>, sid: string, want: string, timeoutMs = 10_000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = (await client.calls(sid).fetch()).status;
      return last === want;
    },
    { what: `call ${sid} to be ${want}`, timeoutMs, detail: () => `it is ${last}` },
  );
}

const dialConference = (attrs: string, name = 'room'): string => `<Response><Dial><Conference ${attrs}>${name}</Conference></Dial><Say>after the conference</Say></Response>`;

describe('<Dial><Conference>', () => {
  it('a room with maxParticipants=3: three SIP.js clients join, the fourth is refused (16020) and its call ends failed', async () => {
    const g = await conferenceGateway();
    const phones = await Promise.all(IDENTITIES.map((id) => ua(g, id)));
    const client = sdk(g);
    const sids: string[] = [];
    for (const id of IDENTITIES.slice(0, 3)) {
      const call = await client.calls.create({ to: `client:${id}`, from: FROM, twiml: dialConference('maxParticipants="3"') });
      sids.push(call.sid);
      await waitFor(() => g.voice.conferences.participantCount === sids.length, { what: `${sids.length} participant(s)` });
    }
    const [room] = await client.conferences.list({ friendlyName: 'room' });
    expect(room).toMatchObject({ friendlyName: 'room', status: 'in-progress', accountSid: SID });
    const participants = await client.conferences(room?.sid ?? '').participants.list();
    expect(participants.map((p) => p.callSid).sort()).toEqual([...sids].sort());
    expect(participants.every((p) => p.status === 'connected' && p.muted === false)).toBe(true);

    const fourth = await client.calls.create({ to: 'client:dave', from: FROM, twiml: dialConference('maxParticipants="3"') });
    await status(client, fourth.sid, 'failed');
    const daveCall = phones[3]?.incoming[0];
    await daveCall?.terminated();
    expect(alerts(g, 16020)).toHaveLength(1);
    expect(alerts(g, 16020)[0]).toContain(`holds its maxParticipants (3): ${fourth.sid} is refused`);
    expect(g.voice.conferences.participantCount).toBe(3);
    const metrics = await adminClient(g).metrics();
    expect(metrics).toMatch(/trunkgate_conference_refusals_total\{account="demo",reason="full"[^}]*\} 1/);
    expect(metrics).toMatch(/trunkgate_conference_participants\{account="demo"[^}]*\} 3/);
    expect(metrics).toMatch(/trunkgate_conference_largest_room_participants\{account="demo"[^}]*\} 3/);

    // everyone hangs up: the room completes when the last one leaves
    for (const phone of phones.slice(0, 3)) await phone.incoming[0]?.hangup();
    for (const sid of sids) await status(client, sid, 'completed');
    const ended = await client.conferences(room?.sid ?? '').fetch();
    expect(ended.status).toBe('completed');
    expect(ended.reasonConferenceEnded).toBe('last-participant-left');
    expect(sids).toContain(ended.callSidEndingConference);
  });

  it('startConferenceOnEnter=false waits in init; endConferenceOnExit ends the room for everyone, whose TwiML goes on', async () => {
    const g = await conferenceGateway();
    app = await startVoiceApp(TOKEN, { '/after': { twiml: '<Response><Hangup/></Response>' } });
    const client = sdk(g);
    const twiml = (attrs: string) => `<Response><Dial action="${app?.base ?? ''}/after"><Conference ${attrs}>rules</Conference></Dial></Response>`;
    const waiter = await client.calls.create({ to: '+14155550101', from: FROM, twiml: twiml('startConferenceOnEnter="false" muted="true"') });
    await waitFor(() => g.voice.conferences.participantCount === 1, { what: 'the first participant' });
    const [room] = await client.conferences.list({ status: 'init' });
    expect(room?.friendlyName).toBe('rules');
    const host = await client.calls.create({ to: '+14155550102', from: FROM, twiml: twiml('endConferenceOnExit="true"') });
    const guest = await client.calls.create({ to: '+14155550103', from: FROM, twiml: twiml('') });
    await waitFor(() => g.voice.conferences.participantCount === 3, { what: 'three participants' });
    expect((await client.conferences(room?.sid ?? '').fetch()).status).toBe('in-progress');
    const muted = await client.conferences(room?.sid ?? '').participants.list({ muted: true });
    expect(muted.map((p) => p.callSid)).toEqual([waiter.sid]);
    // the host hangs up: the room ends, the others' <Dial> returns (DialCallStatus completed) and their TwiML goes on
    await client.calls(host.sid).update({ status: 'completed' });
    for (const sid of [waiter.sid, guest.sid]) await status(client, sid, 'completed');
    // the host's action is requested too (its caller hung up during the <Dial>); the others' after the room ended
    const after = await app.waitFor('/after', 3);
    const others = after.filter((r) => r.params['CallSid'] !== host.sid);
    expect(others.map((r) => [r.params['CallSid'], r.params['DialCallStatus']]).sort()).toEqual([[guest.sid, 'completed'], [waiter.sid, 'completed']].sort());
    const ended = await client.conferences(room?.sid ?? '').fetch();
    expect(ended).toMatchObject({ status: 'completed', reasonConferenceEnded: 'participant-with-end-conference-on-exit-left', callSidEndingConference: host.sid });
    // the name now makes a new room
    const again = await client.calls.create({ to: '+14155550104', from: FROM, twiml: twiml('') });
    await waitFor(() => g.voice.conferences.participantCount === 1, { what: 'a participant in the new room' });
    const rooms = await client.conferences.list({ friendlyName: 'rules' });
    expect(rooms).toHaveLength(2);
    expect(rooms[0]?.sid).not.toBe(room?.sid);
    await client.calls(again.sid).update({ status: 'completed' });
  });
});

describe('the Participants resource', () => {
  it('adds participants at the account CPS with queue_time, fetches, mutes and removes them; a client can be added too', async () => {
    const g = await conferenceGateway(2);
    const alice = await ua(g, 'alice');
    const client = sdk(g);
    const added = [];
    for (const to of ['+14155550111', '+14155550112', '+14155550113']) added.push(await client.conferences('team').participants.create({ from: FROM, to, label: `agent-${to.slice(-1)}` }));
    expect(added[0]?.status).toBe('queued');
    // 2 CPS (a bucket of 2): the first two are placed at once, the third waits its half second
    // (placed at once: its queue_time is the wait it had, a millisecond or two on a loaded machine)
    expect(Number(added[0]?.queueTime)).toBeLessThan(50);
    expect(Number(added[2]?.queueTime)).toBeGreaterThan(250);
    expect(Number(added[2]?.queueTime)).toBeLessThanOrEqual(500);
    const roomSid = added[0]?.conferenceSid ?? '';
    expect(roomSid).toMatch(/^CF[0-9a-f]{32}$/);
    await waitFor(() => g.voice.conferences.participantCount === 3, { what: 'three participants' });
    const viaClient = await client.conferences(roomSid).participants.create({ from: FROM, to: 'client:alice' });
    await waitFor(() => g.voice.conferences.participantCount === 4, { what: 'the client to join' });
    expect(alice.incoming).toHaveLength(1);
    const fetched = await client.conferences(roomSid).participants(added[1]?.callSid ?? '').fetch();
    expect(fetched).toMatchObject({ status: 'connected', label: 'agent-2', queueTime: null });
    const updated = await client.conferences(roomSid).participants(added[1]?.callSid ?? '').update({ muted: true });
    expect(updated.muted).toBe(true);
    // removing one: its call's TwiML (just the <Dial>) is over, so it hangs up completed
    expect(await client.conferences(roomSid).participants(viaClient.callSid).remove()).toBe(true);
    await status(client, viaClient.callSid, 'completed');
    await alice.incoming[0]?.terminated();
    const left = await client.conferences(roomSid).participants.list();
    expect(left).toHaveLength(3);
    const gone = await client
      .conferences(roomSid)
      .participants(viaClient.callSid)
      .fetch()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isRestException(gone) && gone.status).toBe(404);
    // ending the room through the API removes everyone
    const ended = await client.conferences(roomSid).update({ status: 'completed' });
    expect(ended.status).toBe('completed');
    for (const p of added) await status(client, p.callSid, 'completed');
    expect((await client.conferences(roomSid).fetch()).reasonConferenceEnded).toBe('conference-ended-via-api');
    const late = await client
      .conferences(roomSid)
      .participants.create({ from: FROM, to: '+14155550114' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isRestException(late) && [late.status, late.code]).toEqual([400, 16022]);
  });

  it('a full 250-participant room refuses the 251st (16020): its call ends failed', { timeout: 60_000 }, async () => {
    const g = await conferenceGateway(1000);
    const client = sdk(g);
    const created: string[] = [];
    for (let i = 0; i < 250; i++) {
      const p = await client.conferences('big').participants.create({ from: FROM, to: `+1415556${String(i).padStart(4, '0')}` });
      created.push(p.callSid);
    }
    await waitFor(() => g.voice.conferences.participantCount === 250, { what: '250 participants', timeoutMs: 30_000, detail: () => `${g.voice.conferences.participantCount} in` });
    const [room] = await client.conferences.list({ friendlyName: 'big' });
    const listed = await client.conferences(room?.sid ?? '').participants.list({ pageSize: 100 });
    expect(listed).toHaveLength(250);
    const over = await client.conferences('big').participants.create({ from: FROM, to: '+14155569999' });
    await status(client, over.callSid, 'failed');
    expect(alerts(g, 16020)).toEqual([`conference "big" (${room?.sid ?? ''}) already holds its maxParticipants (250): ${over.callSid} is refused`]);
    expect(g.voice.conferences.participantCount).toBe(250);
    expect(g.tracker.active).toBe(250);
    await client.conferences(room?.sid ?? '').update({ status: 'completed' });
    await waitFor(() => g.tracker.active === 0, { what: 'every participant call to end', timeoutMs: 20_000, detail: () => `${g.tracker.active} leases` });
    const statuses = new Set((await client.calls.list({ pageSize: 1000 })).filter((c) => created.includes(c.sid)).map((c) => c.status));
    expect([...statuses]).toEqual(['completed']);
  });
});
