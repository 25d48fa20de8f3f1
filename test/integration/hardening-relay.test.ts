/**
 * A clean relay to the carrier (issue 12): a hand-made INVITE whose From has
 * a display name full of control characters (NUL, BEL, ESC, a bare CR
 * followed by a would-be header) and 300 characters long, and a user part
 * with a space and a control character, is relayed to a SIPp carrier. What the
 * carrier receives (SIPp's -trace_msg log) has no control character, a display
 * name of at most 64 characters and an escaped user part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DISPLAY_NAME_CHARS } from '../../src/b2bua/relay-text.js';
import type { Gateway } from '../../src/gateway.js';
import type { SipResponse } from '../../src/sip/message/index.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { UdpPeer } from '../support/sip-peers.js';
import { parseMessageLog, startSipp } from '../support/sipp.js';

const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;

let gateway: Gateway | undefined;
let peer: UdpPeer | undefined;

afterEach(async () => {
  await peer?.close();
  peer = undefined;
  await gateway?.stop();
  gateway = undefined;
});

// eslint-disable-next-line no-control-regex -- control characters are what this test looks for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('relay to a carrier', () => {
  it('a display name and caller ID with control characters reach the SIPp carrier clean and capped', async () => {
    const carrier = await startSipp({ scenario: SCENARIOS + 'carrier-busy.xml', calls: 1, timeoutSeconds: 30, traceMessages: true });
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 100 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort}` }] });
    const g = gateway;
    peer = await UdpPeer.open('127.0.0.1');
    const display = `Evil\u0000\u0001\u0007 Caller\rX-Injected: yes\u001b[0m ${'A'.repeat(300)}`;
    const ruri = 'sip:+14155550123@demo.pstn.twilio.com';
    const invite = [
      `INVITE ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${peer.hostPort};branch=z9hG4bK-relay-1;rport`,
      'Max-Forwards: 70',
      `From: "${display}" <sip:+1 415\u0001@127.0.0.1>;tag=relay1`,
      `To: <${ruri}>`,
      'Call-ID: relay-1@pbx',
      'CSeq: 1 INVITE',
      `Contact: <sip:pbx@${peer.hostPort}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await peer.send(Buffer.from(invite, 'utf8'), g.address('udp').port, '127.0.0.1');
    const final = await peer.waitFor((m): m is SipResponse => !m.isRequest && m.status >= 200, 1, 'the relayed final response');
    expect(final.status).toBe(486);
    expect(final.headers.get('reason')).toBe('Q.850;cause=17;text="user busy"');
    await peer.send(
      invite.replace(`INVITE ${ruri}`, `ACK ${ruri}`).replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(`To: <${ruri}>`, `To: <${ruri}>;tag=${final.toTag ?? ''}`),
      g.address('udp').port,
      '127.0.0.1',
    );
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(1);

    const relayed = parseMessageLog(c.messageLog ?? '').find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
    if (relayed === undefined) throw new Error(`the carrier logged no INVITE:\n${c.messageLog ?? ''}`);
    const lines = relayed.text.split('\n').map((l) => l.replace(/\r$/, ''));
    const from = lines.find((l) => /^From:/i.test(l)) ?? '';
    expect(from, JSON.stringify(from)).not.toMatch(CONTROL);
    expect(lines.some((l) => /^X-Injected:/i.test(l))).toBe(false);
    for (const line of lines) expect(line, JSON.stringify(line)).not.toMatch(CONTROL);
    const m = /^From: "((?:[^"\\]|\\.)*)" <sip:([^@>]+)@/.exec(from);
    if (m === null) throw new Error(`unexpected From: ${JSON.stringify(from)}`);
    const name = (m[1] as string).replace(/\\(.)/g, '$1');
    expect(Array.from(name).length).toBeLessThanOrEqual(MAX_DISPLAY_NAME_CHARS);
    expect(name.startsWith('Evil CallerX-Injected: yes[0m AAA')).toBe(true);
    expect(m[2]).toBe('+1%20415%01');
    await expectAllReleased(g);
    expect(g.b2bua.stats.ended.busy).toBe(1);
  });
});
