/**
 * Transfer (SIP REFER, SPEC §9; RFC 3515, RFC 5589 §6.1) with a real
 * transferring PBX: baresip 1.0 calls through trunkgate, is answered by the
 * PSTN emulator, then runs its `transfer` command (a blind REFER in the
 * call's dialog). Depending on the trunk's transferMode:
 *  - allowed (`enable-all`, `sip-only` to a SIP target): `202 Accepted`,
 *    NOTIFYs with `message/sipfrag` bodies `SIP/2.0 100 Trying` then
 *    `SIP/2.0 200 OK`; trunkgate places the new call itself (to a SIPp UAS
 *    as the SIP target, or a number on the PSTN emulator), baresip's leg
 *    ends, and the call holds exactly one lease throughout, 0 after.
 *  - refused (`disable-all`, the default; `sip-only` to the PSTN):
 *    `403 Forbidden`, alert 32218 (also in GET /v1/alerts), trunkgate leaves
 *    the call as it was (baresip itself hangs up after a failed transfer).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { type Baresip, type TracedSip, startBaresip } from '../support/baresip.js';
import { sipTarget, startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { type StartedSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const CALLED = 'sip:+14155550123@demo.pstn.twilio.com';
const TARGET_SCENARIO = fileURLToPath(new URL('../scenarios/transfer-target.xml', import.meta.url));

let gateway: Gateway | undefined;
let ua: Baresip | undefined;
const sipps: StartedSipp[] = [];

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill('SIGKILL');
  await ua?.stop();
  ua = undefined;
  await gateway?.stop();
  gateway = undefined;
});

function traced(p: Baresip, direction: TracedSip['direction'], start: string, method?: string): TracedSip[] {
  return p
    .sipTrace()
    .filter(
      (m) =>
        m.direction === direction &&
        m.startLine.startsWith(start) &&
        (method === undefined || new RegExp(`^CSeq:\\s*\\d+\\s+${method}\\s*$`, 'im').test(m.text)),
    );
}

/** The sipfrag status lines of the NOTIFYs baresip received, in order. */
function sipfrags(p: Baresip): string[] {
  return traced(p, 'received', 'NOTIFY ').map((m) => {
    expect(m.text).toMatch(/^Content-Type:\s*message\/sipfrag/im);
    expect(m.text).toMatch(/^Event:\s*refer/im);
    const body = m.text.split(/\r?\n\r?\n/)[1] ?? '';
    return body.trim().split(/\r?\n/)[0] ?? '';
  });
}

/** A gateway with this transferMode, and baresip with a call up through it to the emulator. */
async function callUp(transferMode?: string): Promise<{ g: Gateway; phone: Baresip }> {
  const g = await startTestGateway(
    transferMode === undefined ? {} : { trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin', transferMode }] },
  );
  gateway = g;
  const phone = await startBaresip({ outboundProxy: `sip:${sipTarget(g)}` });
  ua = phone;
  await phone.dial(CALLED);
  await phone.waitForEvent('CALL_ESTABLISHED');
  expect(g.b2bua.activeCalls).toBe(1);
  expect(g.tracker.active).toBe(1);
  return { g, phone };
}

describe('baresip transfers its call (REFER)', () => {
  it.each(['enable-all', 'sip-only'])('%s: to a SIP target (SIPp): 202, NOTIFY 100 then 200, the target called by trunkgate, baresip\'s leg ended, one lease', async (mode) => {
    const { g, phone } = await callUp(mode);
    const target = await startSipp({ scenario: TARGET_SCENARIO, calls: 1, timeoutSeconds: 30 });
    sipps.push(target);
    const from = phone.events.length;
    await phone.command('transfer', `sip:sales@127.0.0.1:${target.localPort}`);

    // the target answers; trunkgate bridges the emulator's leg to it and baresip's leg ends
    await waitFor(() => Number(target.stats()['TotalCallCreated']) === 1, { what: 'the target to get an INVITE' });
    const closed = await phone.waitForEvent('CALL_CLOSED', { from, timeoutMs: 10_000 });
    expect(closed.direction).toBe('outgoing');
    expect(traced(phone, 'received', 'SIP/2.0 202', 'REFER')).toHaveLength(1);
    await waitFor(() => sipfrags(phone).length === 2, { what: 'two NOTIFYs', detail: () => sipfrags(phone).join(' | ') });
    expect(sipfrags(phone)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    // the last NOTIFY ends the implicit subscription
    expect(traced(phone, 'received', 'NOTIFY ').at(-1)?.text).toMatch(/^Subscription-State:\s*terminated/im);
    // baresip's leg is gone (its BYE or ours), the call goes on with the target: one call, one lease
    expect(g.b2bua.activeCalls).toBe(1);
    expect(g.tracker.active).toBe(1);

    // the target hangs up after 1.5 s: the call ends, its lease comes back once
    expectSippSucceeded(await target.done, 1);
    await expectAllReleased(g);
    const metrics = await adminClient(g).metrics();
    expect(metrics).toMatch(/trunkgate_transfers_total\{[^}]*outcome="completed"[^}]*\} 1/);
    expect(g.alerts.list().filter((a) => a.code === 32218)).toHaveLength(0);
  });

  it('enable-all: to a PSTN number: the emulator answers the new call, baresip\'s leg ends, one lease', async () => {
    const { g, phone } = await callUp('enable-all');
    const from = phone.events.length;
    await phone.command('transfer', 'sip:+14155550199@demo.pstn.twilio.com');
    await phone.waitForEvent('CALL_CLOSED', { from, timeoutMs: 10_000 });
    await waitFor(() => sipfrags(phone).length === 2, { what: 'two NOTIFYs', detail: () => sipfrags(phone).join(' | ') });
    expect(sipfrags(phone)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    expect(g.b2bua.activeCalls).toBe(1);
    expect(g.tracker.active).toBe(1);
    const call = [...g.b2bua.calls.values()][0];
    // end the remaining call from the API side: it releases its one lease
    expect(call?.state).toBe('answered');
    expect((await adminClient(g).del(`/v1/calls/${call?.id ?? ''}`)).status).toBe(204);
    await expectAllReleased(g);
  });

  it.each([
    ['disable-all (the default)', undefined, 'sip:sales@127.0.0.1:5999'],
    ['sip-only, to the PSTN', 'sip-only', 'sip:+14155550199@demo.pstn.twilio.com'],
  ])('%s: 403 Forbidden, alert 32218, trunkgate leaves the call up', async (_, mode, referTo) => {
    const { g, phone } = await callUp(mode);
    const from = phone.events.length;
    await phone.command('transfer', referTo);
    await waitFor(() => traced(phone, 'received', 'SIP/2.0 403', 'REFER').length === 1, { what: 'a 403 to the REFER' });
    expect(traced(phone, 'received', 'SIP/2.0 202', 'REFER')).toHaveLength(0);
    expect(traced(phone, 'received', 'NOTIFY ')).toHaveLength(0);
    const alerts = await waitFor(() => {
      const a = g.alerts.list().filter((x) => x.code === 32218);
      return a.length === 1 ? a : undefined;
    }, { what: 'alert 32218' });
    expect(alerts).toHaveLength(1);
    // visible where alerts are exposed
    const listed = await adminClient(g).get<unknown>('/v1/alerts');
    expect(listed.text).toContain('32218');
    // baresip reports the refusal; trunkgate did not end the call (baresip 1.0 hangs up by itself after a failed transfer: its BYE, our 200)
    const failed = await phone.waitForEvent('TRANSFER_FAILED', { from });
    expect(failed.param).toBe('403 Forbidden');
    expect(traced(phone, 'received', 'BYE ')).toHaveLength(0);
    await waitFor(() => traced(phone, 'received', 'SIP/2.0 200', 'BYE').length === 1, { what: 'baresip\'s BYE answered' });
    expect(traced(phone, 'sent', 'BYE ')).toHaveLength(1);
    await expectAllReleased(g);
    expect(await adminClient(g).metrics()).toMatch(/trunkgate_transfers_total\{[^}]*outcome="refused"[^}]*\} 1/);
  });
});

describe('an inbound call transferred by its PBX (SIPp sends REFER)', () => {
  const REFER = fileURLToPath(new URL('../scenarios/pbx-inbound-refer.xml', import.meta.url));
  const NUMBER = '+14155550100';

  async function inbound(referTo: string, transferMode?: string): Promise<{ g: Gateway; pbx: StartedSipp; run: string }> {
    const pbx = await startSipp({ scenario: REFER, calls: 1, timeoutSeconds: 30, extraArgs: ['-key', 'refer_to', referTo] });
    sipps.push(pbx);
    const g = await startTestGateway({
      trunks: [
        {
          name: 'demo',
          account: 'demo',
          cps: { default: 100_000 },
          auth: { ipAcl: ['127.0.0.0/8'] },
          route: 'builtin',
          ...(transferMode === undefined ? {} : { transferMode }),
          origination: { uris: [{ uri: `sip:127.0.0.1:${pbx.localPort}` }], numbers: [NUMBER] },
        },
      ],
    });
    gateway = g;
    const r = await adminClient(g).post<{ id: string }>('/v1/origination', { trunk: 'demo', rate: 1, calls: 1, holdMs: 3000 });
    expect(r.status, r.text).toBe(201);
    return { g, pbx, run: r.json.id };
  }

  it('enable-all, to a PSTN number: 202, NOTIFY 100 then 200 (checked by SIPp), the PBX leaves, the caller stays with the target on one lease', async () => {
    const { g, pbx, run } = await inbound('sip:+14155550199@demo.pstn.twilio.com', 'enable-all');
    // SIPp's scenario fails on a wrong or missing NOTIFY; it ends with its own BYE
    expectSippSucceeded(await pbx.done, 1);
    expect(g.tracker.active).toBe(1);
    const report = await waitFor(async () => {
      const x = (await adminClient(g).get<{ endedAt: string | null; outcomes: Record<string, number> }>(`/v1/origination/${run}`)).json;
      return x.endedAt === null ? undefined : x;
    }, { what: 'the run to end (the caller hangs up after 3 s)' });
    expect(report.outcomes).toEqual({ answered: 1 });
    await expectAllReleased(g);
    expect(await adminClient(g).metrics()).toMatch(/trunkgate_transfers_total\{[^}]*outcome="completed"[^}]*\} 1/);
  });

  it('disable-all (the default): 403, alert 32218, the call goes on until the caller hangs up', async () => {
    const { g, pbx } = await inbound('sip:+14155550199@demo.pstn.twilio.com');
    await waitFor(() => g.alerts.list().some((a) => a.code === 32218), { what: 'alert 32218' });
    expect(g.tracker.active).toBe(1);
    // the refused branch of the scenario: the caller's BYE after holdMs
    expectSippSucceeded(await pbx.done, 1);
    await expectAllReleased(g);
    expect(await adminClient(g).metrics()).toMatch(/trunkgate_transfers_total\{[^}]*outcome="refused"[^}]*\} 1/);
  });
});
