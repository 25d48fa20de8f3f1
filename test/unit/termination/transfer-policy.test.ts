/**
 * REFER as the provider takes it (SPEC §9, RFC 3515): the trunk's
 * transferMode decides; the Refer-To names a PSTN number (tel:, or a
 * termination host) or a SIP destination; attended transfers, other
 * methods and emergency numbers are refused like a disabled transfer;
 * malformed REFERs get 400 without an alert.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TransferMode } from '../../../src/config/schema.js';
import { type SipRequest, parseMessage } from '../../../src/sip/message/index.js';
import { TransferPolicy } from '../../../src/termination/transfer-policy.js';

function refer(headers: string[]): SipRequest {
  const lines = [
    'REFER sip:trunkgate@127.0.0.1:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1',
    'From: <sip:+14155550100@127.0.0.1>;tag=a',
    'To: <sip:+14155550123@demo.pstn.twilio.com>;tag=b',
    'Call-ID: refer-1',
    'CSeq: 3 REFER',
    'Max-Forwards: 70',
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ];
  const parsed = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!parsed.ok || !parsed.message.isRequest) throw new Error('test REFER did not parse');
  return parsed.message;
}

const policy = (mode: TransferMode): TransferPolicy => new TransferPolicy(mode, 'from-transferee', 'pstn.twilio.com');

describe('transferMode', () => {
  it('disable-all (the default) refuses every REFER with 403 and alert 32218, whatever the Refer-To', () => {
    for (const to of ['<sip:+14155550199@demo.pstn.twilio.com>', '<sip:agent@127.0.0.1:5080>', 'garbage']) {
      expect(policy('disable-all').decide(refer([`Refer-To: ${to}`]))).toMatchObject({ ok: false, status: 403, reason: 'Forbidden', alert: 32218 });
    }
  });

  it('enable-all takes PSTN and SIP targets', () => {
    expect(policy('enable-all').decide(refer(['Refer-To: <sip:+14155550199@demo.pstn.twilio.com>']))).toMatchObject({ ok: true, target: { kind: 'pstn', number: '+14155550199' } });
    expect(policy('enable-all').decide(refer(['Refer-To: <tel:+1-415-555-0199>']))).toMatchObject({ ok: true, target: { kind: 'pstn', number: '+14155550199' } });
    expect(policy('enable-all').decide(refer(['Refer-To: "Agent" <sip:agent@127.0.0.1:5080;transport=tcp>']))).toMatchObject({
      ok: true,
      target: { kind: 'sip', user: 'agent', transport: 'tcp', address: '127.0.0.1', port: 5080 },
    });
  });

  it('sip-only takes SIP destinations and refuses PSTN targets (403, 32218)', () => {
    expect(policy('sip-only').decide(refer(['Refer-To: <sip:agent@127.0.0.1:5080>']))).toMatchObject({ ok: true, target: { kind: 'sip' } });
    for (const to of ['<tel:+14155550199>', '<sip:+14155550199@acme.pstn.twilio.com>', '<sip:+14155550199@acme.pstn.dublin.twilio.com;user=phone>']) {
      expect(policy('sip-only').decide(refer([`Refer-To: ${to}`]))).toMatchObject({ ok: false, status: 403, alert: 32218, detail: expect.stringMatching(/sip-only/) });
    }
  });
});

describe('Refer-To', () => {
  const p = policy('enable-all');

  it('exactly one: none or two give 400 without an alert; the compact form r counts', () => {
    expect(p.decide(refer([]))).toMatchObject({ ok: false, status: 400, reason: 'Missing Refer-To', alert: undefined });
    expect(p.decide(refer(['Refer-To: <tel:+14155550199>', 'Refer-To: <tel:+14155550198>']))).toMatchObject({ ok: false, status: 400, alert: undefined });
    expect(p.decide(refer(['r: <tel:+14155550199>']))).toMatchObject({ ok: true, target: { kind: 'pstn' } });
  });

  it('attended transfers (Replaces), other methods and 911/933 are refused like a disabled transfer', () => {
    expect(p.decide(refer(['Refer-To: <sip:agent@127.0.0.1?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>']))).toMatchObject({ ok: false, status: 403, alert: 32218, detail: expect.stringMatching(/blind/) });
    expect(p.decide(refer(['Refer-To: <sip:agent@127.0.0.1;method=BYE>']))).toMatchObject({ ok: false, status: 403, alert: 32218 });
    expect(p.decide(refer(['Refer-To: <tel:911>']))).toMatchObject({ ok: false, status: 403, alert: 32218 });
  });

  it('malformed or unreachable targets: 400 with the reason (no DNS, not E.164, other schemes)', () => {
    expect(p.decide(refer(['Refer-To: <sip:agent@pbx.example.com>']))).toMatchObject({ ok: false, status: 400, detail: expect.stringMatching(/no DNS/) });
    expect(p.decide(refer(['Refer-To: <sip:4155550199@demo.pstn.twilio.com>']))).toMatchObject({ ok: false, status: 400, detail: expect.stringMatching(/E\.164/) });
    expect(p.decide(refer(['Refer-To: <mailto:a@b.c>']))).toMatchObject({ ok: false, status: 400 });
    expect(p.decide(refer(['Refer-To: <sip:agent@127.0.0.1;transport=sctp>']))).toMatchObject({ ok: false, status: 400 });
  });

  it('passes on Referred-By (RFC 3892) and reads Refer-Sub: false (RFC 4488)', () => {
    expect(p.decide(refer(['Refer-To: <sip:agent@127.0.0.1>', 'Referred-By: <sip:pbx@127.0.0.1>', 'Refer-Sub: false']))).toMatchObject({
      ok: true,
      referredBy: '<sip:pbx@127.0.0.1>',
      noSubscription: true,
    });
    expect(p.decide(refer(['Refer-To: <sip:agent@127.0.0.1>']))).toMatchObject({ ok: true, referredBy: undefined, noSubscription: false });
  });

  it('termination hosts: the trunk and an edge label, under the configured suffix only', () => {
    expect(p.isTerminationHost('acme.pstn.twilio.com')).toBe(true);
    expect(p.isTerminationHost('ACME.pstn.ashburn.twilio.com.')).toBe(true);
    expect(p.isTerminationHost('pstn.twilio.com')).toBe(false);
    expect(p.isTerminationHost('acme.sip.twilio.com')).toBe(false);
    expect(p.isTerminationHost('a.b.pstn.x.y.twilio.com')).toBe(false);
    expect(new TransferPolicy('enable-all', 'from-transferee', 'pstn.lab.example').isTerminationHost('acme.pstn.lab.example')).toBe(true);
  });

  it('never throws, and every refusal is 400 or 403 with 32218 only on 403 (fuzzed Refer-To values)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.constantFrom<TransferMode>('enable-all', 'sip-only'), (value, mode) => {
        const clean = value.replace(/[\r\n]/g, ' ');
        const d = policy(mode).decide(refer([`Refer-To: ${clean}`]));
        if (!d.ok) {
          expect([400, 403]).toContain(d.status);
          expect(d.alert === 32218).toBe(d.status === 403);
        }
      }),
      { numRuns: 500 },
    );
  });
});
