/**
 * Every call's SIP, on demand (issue 13 item 1): the message store holds both
 * legs of calls placed by real SIPp (refusals included), the API serves them
 * by our call id and by either leg's Call-ID, the pcap opens in Wireshark's
 * tshark with every message dissected as SIP and every checksum right and in
 * sngrep (which reads it and writes every SIP message back out), and
 * HEP v3 packets arrive at a collector that decodes them with Homer's own
 * decoder (hep-js).
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { CapturedCallView, StatusView } from '../../src/http/observability-views.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { sipTarget, startTestGateway, testConfig } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { pbxScenario } from '../support/scenarios.js';
import { freePort, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

interface HepDecoded {
  rcinfo: { protocolFamily: number; protocol: number; srcIp: string; dstIp: string; srcPort: number; dstPort: number; timeSeconds: number; timeUseconds: number; payloadType: number; captureId: number; hepNodeName: string };
  payload: string;
}
const hepjs = createRequire(import.meta.url)('hep-js') as { decapsulate(b: Buffer): HepDecoded | false };

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

/** tshark's view of a pcap: one row of fields per frame. */
function tshark(file: string, fields: string[], extra: string[] = []): string[][] {
  const out = execFileSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', ...extra, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

/** What sngrep makes of a pcap: it reads it (-I, no interface) and saves the SIP messages it found (-O); tshark lists them. */
function sngrep(file: string, decode: string[]): string[] {
  const out = `${file}.sngrep.pcap`;
  execFileSync('sngrep', ['-N', '-q', '-I', file, '-O', out], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  return tshark(out, ['sip.Method', 'sip.Status-Code'], decode).map((r) => r[0] || (r[1] as string));
}

function savePcap(body: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'trunkgate-pcap-')), 'call.pcap');
  writeFileSync(file, body);
  return file;
}

async function recentCall(g: Gateway): Promise<StatusView['recentCalls'][number]> {
  const status = await adminClient(g).get<StatusView>('/v1/status');
  const call = status.json.recentCalls[0];
  if (call === undefined) throw new Error('no recent call in /v1/status');
  return call;
}

describe('the message store and GET /v1/calls/{id}/messages', () => {
  it('keeps both legs of a carrier call, in order, findable by our id and by either Call-ID; the pcap opens in tshark and sngrep', async () => {
    const carrier = await startSipp({ scenario: 'uas', transport: 'u1', calls: 1, timeoutSeconds: 30 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort}` }],
    });
    const g = gateway;
    const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 100 } }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(pbx, 1);
    expect((await carrier.done).successful).toBe(1);
    await expectAllReleased(g);

    const summary = await recentCall(g);
    expect(summary.id).toMatch(/^CA[0-9a-f]{32}$/);
    expect(summary.callIds).toHaveLength(2);
    expect(summary.outcome).toEqual({ kind: 'admitted', disposition: 'answered' });
    expect(summary).toMatchObject({ trunk: 'demo', from: expect.any(String), to: '+14155550123' });
    const id = summary.id as string;
    const client = adminClient(g);
    // the message list is served once all of the call's messages are in (the last 200 to the BYE may trail the lease release)
    const view = await waitFor(
      async () => {
        const r = await client.get<CapturedCallView>(`/v1/calls/${id}/messages`);
        return r.status === 200 && r.json.messages.filter((m) => m.firstLine.startsWith('SIP/2.0 200')).length >= 4 ? r.json : undefined;
      },
      { what: 'both legs BYE-d and answered' },
    );
    const gw = g.address('udp');
    const ladder = view.messages.map((m) => `${m.leg} ${m.direction} ${m.firstLine.startsWith('SIP/2.0') ? m.firstLine.slice(8, 11) : m.firstLine.split(' ')[0]}`);
    // A: INVITE in, 100 out; B: INVITE out, …, 200 in, ACK out; A: 200 out, ACK in; BYE A in, 200 out; BYE B out, 200 in
    for (const step of ['a in INVITE', 'a out 100', 'b out INVITE', 'b in 200', 'b out ACK', 'a out 200', 'a in ACK', 'a in BYE', 'b out BYE', 'b in 200']) {
      expect(ladder, step).toContain(step);
    }
    const order = (step: string): number => ladder.indexOf(step);
    expect(order('a in INVITE')).toBe(0);
    expect(order('a in INVITE')).toBeLessThan(order('b out INVITE'));
    expect(order('b in 200')).toBeLessThan(order('a out 200'));
    expect(order('a out 200')).toBeLessThan(order('a in ACK'));
    // ends and times
    const aInvite = view.messages[0] as CapturedCallView['messages'][number];
    expect(aInvite.source).toEqual({ address: '127.0.0.1', port: pbx.localPort });
    expect(aInvite.destination).toEqual({ address: gw.address, port: gw.port });
    expect(aInvite.text).toContain(`Call-ID: ${summary.callIds[0]}`);
    expect(aInvite.text).toMatch(/\r\n\r\nv=0/);
    const bInvite = view.messages.find((m) => m.leg === 'b' && m.firstLine.startsWith('INVITE')) as CapturedCallView['messages'][number];
    expect(bInvite.destination).toEqual({ address: '127.0.0.1', port: carrier.localPort });
    expect(bInvite.text).toContain(`Call-ID: ${summary.callIds[1]}`);
    const times = view.messages.map((m) => Date.parse(m.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // the same capture by either leg's Call-ID (URL-encoded: Call-IDs carry @ and other characters)
    for (const callId of summary.callIds) {
      const r = await client.get<CapturedCallView>(`/v1/calls/${encodeURIComponent(callId)}/messages`);
      expect(r.status).toBe(200);
      expect(r.json.id).toBe(id);
    }

    // the pcap: tshark reads every message as SIP, in order, with the right ports and good checksums
    const pcap = await fetch(`${client.base}/v1/calls/${id}/pcap`);
    expect(pcap.status).toBe(200);
    expect(pcap.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    expect(pcap.headers.get('content-disposition')).toBe(`attachment; filename="${id}.pcap"`);
    const file = savePcap(Buffer.from(await pcap.arrayBuffer()));
    const decode = ['-d', `udp.port==${gw.port},sip`];
    const rows = tshark(file, ['udp.srcport', 'udp.dstport', 'sip.Method', 'sip.Status-Code', 'sip.Call-ID', 'udp.checksum.status', 'ip.checksum.status'], decode);
    expect(rows).toHaveLength(view.messages.length);
    rows.forEach((row, i) => {
      const m = view.messages[i] as CapturedCallView['messages'][number];
      const [sport, dport, method, status, callId, udpChecksum, ipChecksum] = row;
      expect(Number(sport)).toBe(m.source.port);
      expect(Number(dport)).toBe(m.destination.port);
      if (m.firstLine.startsWith('SIP/2.0')) expect(status).toBe(m.firstLine.slice(8, 11));
      else expect(method).toBe(m.firstLine.split(' ')[0]);
      expect(summary.callIds).toContain(callId);
      expect(udpChecksum, 'UDP checksum good').toBe('1');
      expect(ipChecksum, 'IP checksum good').toBe('1');
    });
    expect(tshark(file, ['frame.number'], [...decode, '-Y', '_ws.malformed || _ws.expert.severity >= "warning"'])).toHaveLength(0);
    // sngrep reads the same file and finds every message of both legs
    const carrierDecode = ['-d', `udp.port==${carrier.localPort},sip`];
    expect(sngrep(file, [...decode, ...carrierDecode])).toEqual(rows.map((r) => r[2] || (r[3] as string)));
  });

  it('TCP: the pcap carries each message as a TCP segment that tshark reassembles into SIP', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 50 } }), target: sipTarget(g, 'tcp'), transport: 't1', calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(pbx, 1);
    await expectAllReleased(g);
    const summary = await recentCall(g);
    const client = adminClient(g);
    const view = await waitFor(async () => {
      const r = await client.get<CapturedCallView>(`/v1/calls/${summary.id}/messages`);
      return r.json.messages.some((m) => m.firstLine.startsWith('BYE')) && r.json.messages.length >= 6 ? r.json : undefined;
    });
    expect(view.messages.every((m) => m.transport === 'tcp' && m.leg === 'a')).toBe(true);
    const pcap = Buffer.from(await (await fetch(`${client.base}/v1/calls/${summary.id}/pcap`)).arrayBuffer());
    const file = savePcap(pcap);
    const decode = ['-d', `tcp.port==${g.address('tcp').port},sip`];
    const rows = tshark(file, ['tcp.srcport', 'sip.Method', 'sip.Status-Code', 'tcp.checksum.status'], [...decode, '-Y', 'sip']);
    expect(rows.map((r) => r[1] || r[2])).toEqual(view.messages.map((m) => (m.firstLine.startsWith('SIP/2.0') ? m.firstLine.slice(8, 11) : m.firstLine.split(' ')[0])));
    expect(rows.every((r) => r[3] === '1')).toBe(true);
    expect(tshark(file, ['frame.number'], [...decode, '-Y', '_ws.malformed || tcp.analysis.flags'])).toHaveLength(0);
    expect(sngrep(file, decode)).toEqual(rows.map((r) => r[1] || r[2]));
  });

  it('keeps refused calls, findable by Call-ID, with the status and reason they got', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['192.0.2.0/24'] }, route: 'builtin' }] });
    const g = gateway;
    const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 403, finalReason: 'Forbidden' }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(pbx, 1);
    const client = adminClient(g);
    const status = await client.get<StatusView>('/v1/status');
    const refusal = status.json.refusals[0];
    expect(refusal).toMatchObject({ status: 403, reason: 'Forbidden', trunk: 'demo', outcome: 'forbidden', source: `127.0.0.1:${pbx.localPort}` });
    const callId = (refusal as { callId: string }).callId;
    const view = await waitFor(async () => {
      const r = await client.get<CapturedCallView>(`/v1/calls/${encodeURIComponent(callId)}/messages`);
      return r.json.messages?.some((m) => m.firstLine.startsWith('ACK')) ? r.json : undefined;
    });
    expect(view.id).toBeNull();
    expect(view.outcome).toEqual({ kind: 'refused', status: 403, reason: 'Forbidden', outcome: 'forbidden' });
    expect(view.messages.map((m) => `${m.direction} ${m.firstLine.split(' ').slice(0, 2).join(' ')}`)).toEqual(['in INVITE sip:+14155550123@demo.pstn.twilio.com', 'out SIP/2.0 403', 'in ACK sip:+14155550123@demo.pstn.twilio.com']); // a refusal before authentication goes alone: no 100
  });

  it('is bounded: with maxCalls 2 only the last two calls are kept; an evicted or unknown id is a 404 that says why', async () => {
    gateway = await startTestGateway({ observability: { messageStore: { maxCalls: 2 } } });
    const g = gateway;
    const ids: string[] = [];
    g.b2bua.events.on('callStarted', (call) => ids.push(call.id));
    const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(g), calls: 5, rate: 50, timeoutSeconds: 30 });
    expectSippSucceeded(pbx, 5);
    await expectAllReleased(g);
    expect(ids).toHaveLength(5);
    expect(g.observability.store.size.calls).toBe(2);
    const client = adminClient(g);
    const codes = await Promise.all(ids.map(async (id) => (await client.get(`/v1/calls/${id}/messages`)).status));
    expect(codes).toEqual([404, 404, 404, 200, 200]);
    const missing = await client.get<{ code: string; message: string }>(`/v1/calls/${ids[0]}/pcap`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: 'MESSAGES_NOT_FOUND', message: `no messages for "${ids[0]}": not one of the last 2 calls; give our call id (CA…) or the SIP Call-ID of either leg (GET /v1/status lists recent calls)` });
  });

  it('is off with maxCalls 0: nothing kept, and the 404 says the store is off', async () => {
    gateway = await startTestGateway({ observability: { messageStore: { maxCalls: 0 } } });
    const g = gateway;
    expect(g.transport.events.listenerCount('wire')).toBe(0);
    const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(pbx, 1);
    const r = await adminClient(g).get<{ message: string }>('/v1/calls/CA00000000000000000000000000000000/messages');
    expect(r.status).toBe(404);
    expect(r.json.message).toContain('the message store is off');
  });
});

describe('HEP v3 export (observability.hep)', () => {
  it('sends every message of a call to the collector; Homer’s decoder reads addresses, ports, time and the SIP text', async () => {
    const collector = createSocket('udp4');
    const received: HepDecoded[] = [];
    const undecodable: Buffer[] = [];
    collector.on('message', (buf) => {
      const d = hepjs.decapsulate(buf);
      if (d === false || d === undefined) undecodable.push(buf);
      else received.push(d);
    });
    await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
    try {
      const before = Date.now();
      gateway = await startTestGateway({ observability: { hep: `udp://127.0.0.1:${collector.address().port}`, hepCaptureId: 4242 } });
      const g = gateway;
      const pbx = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 50 } }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 });
      expectSippSucceeded(pbx, 1);
      await expectAllReleased(g);
      const summary = await recentCall(g);
      const view = (await adminClient(g).get<CapturedCallView>(`/v1/calls/${summary.id}/messages`)).json;
      await waitFor(() => received.length >= view.messages.length, { what: 'a HEP packet per message', detail: () => `${received.length} of ${view.messages.length}` });
      expect(undecodable).toHaveLength(0);
      const gw = g.address('udp');
      for (const m of view.messages) {
        const hep = received.find((h) => h.payload === m.text && h.rcinfo.srcPort === m.source.port);
        expect(hep, m.firstLine).toBeDefined();
        const r = (hep as HepDecoded).rcinfo;
        expect(r).toMatchObject({ protocolFamily: 2, protocol: 17, payloadType: 1, captureId: 4242, hepNodeName: 'trunkgate', srcIp: m.source.address, dstIp: m.destination.address, dstPort: m.destination.port });
        expect(r.timeSeconds * 1000 + r.timeUseconds / 1000).toBeGreaterThanOrEqual(before - 1);
        expect(r.timeSeconds * 1000).toBeLessThanOrEqual(Date.now());
      }
      expect(received.some((h) => h.rcinfo.srcPort === pbx.localPort && h.rcinfo.dstPort === gw.port && h.payload.startsWith('INVITE '))).toBe(true);
      expect(g.observability.hepStats).toMatchObject({ failed: 0 });
    } finally {
      collector.close();
    }
  });
});

describe('HEP export to a collector that is down', () => {
  it('costs counted failures and no call', async () => {
    const closed = await freePort(); // nothing listens there
    gateway = await startTestGateway({ observability: { hep: `udp://127.0.0.1:${closed}` } });
    const g = gateway;
    expectSippSucceeded(await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 50 } }), target: sipTarget(g), calls: 5, rate: 20, timeoutSeconds: 30 }), 5);
    await expectAllReleased(g);
    // the kernel answers with port unreachable; the connected socket reports it as send errors
    await waitFor(() => (g.observability.hepStats?.failed ?? 0) > 0, { what: 'HEP send failures to be counted', detail: () => JSON.stringify(g.observability.hepStats) });
    expect(g.observability.hepStats?.sent).toBeGreaterThan(10);
  });
});

describe('a reload', () => {
  it('applies the observability settings at once: HEP on, the store shrunk, then off', async () => {
    const collector = createSocket('udp4');
    const received: HepDecoded[] = [];
    collector.on('message', (buf) => {
      const d = hepjs.decapsulate(buf);
      if (d !== false && d !== undefined) received.push(d);
    });
    await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
    try {
      gateway = await startTestGateway();
      const g = gateway;
      const call = () => runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(g), calls: 3, rate: 20, timeoutSeconds: 30 });
      expectSippSucceeded(await call(), 3);
      expect(g.observability.store.size.calls).toBe(3);
      expect(received).toHaveLength(0);

      g.applyConfig(testConfig({ observability: { hep: `udp://127.0.0.1:${collector.address().port}`, messageStore: { maxCalls: 1 } } }));
      expect(g.observability.store.size.calls).toBe(1);
      expectSippSucceeded(await call(), 3);
      await waitFor(() => received.filter((h) => h.payload.startsWith('BYE ')).length === 3, { what: 'HEP packets of the calls after the reload' });

      g.applyConfig(testConfig({ observability: { messageStore: { maxCalls: 0 } } }));
      await waitFor(() => g.transport.events.listenerCount('wire') === 0, { what: 'the store and HEP to stop listening' });
      expect(g.observability.store.size.calls).toBe(0);
      const before = received.length;
      expectSippSucceeded(await call(), 3);
      expect(g.observability.store.size.calls).toBe(0);
      expect(received.length).toBe(before);
    } finally {
      collector.close();
    }
  });
});

describe('GET /v1/status/events (server-sent events)', () => {
  it('sends a snapshot at once and every second; stopping the gateway ends the stream instead of waiting for the client', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    const res = await fetch(`${adminClient(g).base}/v1/status/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended early: ${text}`);
      text += value;
    }
    const events = text.split('\n\n').filter((e) => e !== '');
    expect(events[0]).toMatch(/^id: 1\nevent: status\ndata: \{/);
    expect(events[1]).toMatch(/^id: 2\nevent: status\ndata: \{/);
    const snapshot = JSON.parse((events[0] as string).split('\ndata: ')[1] as string) as StatusView;
    expect(snapshot.trunks.map((t) => t.name)).toEqual(['demo']);
    expect(snapshot.trunks[0]?.regions[0]).toEqual({ region: 'us1', cpsLimit: 100_000, offeredPerSecond: 0, admittedPerSecond: 0, activeCalls: 0 });
    const stopped = g.stop().then(() => 'stopped');
    gateway = undefined;
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    expect(await stopped).toBe('stopped');
  });
});
