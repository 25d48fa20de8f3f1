/**
 * The registrar (RFC 3261 §10.3, RFC 5626 flows) with a fake clock: add,
 * refresh, un-register, Contact *, 423 and the cap, expiry, flows closing,
 * instance/reg-id replacement, busy, and a property: whatever happens, the
 * count is the bindings listed and returns to 0.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ContactRequest, type RegisterRequest, type RemovalReason, Registrar, sameContact } from '../../../src/clients/registrar.js';
import { ManualClock } from '../../../src/limits/clock.js';

const POLICY = { minExpiresSeconds: 60, maxExpiresSeconds: 3600, maxBindingsPerIdentity: 3 };

function contact(uri: string, expires?: number, extra: Partial<ContactRequest> = {}): ContactRequest {
  return { uri, expires, instance: undefined, regId: undefined, ...extra };
}

function req(over: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    account: 'acme',
    identity: 'alice',
    contacts: [contact('sip:x1@h1.invalid;transport=ws', 600)],
    expiresHeader: undefined,
    callId: 'call-1',
    cseq: 1,
    flow: { transport: 'ws', address: '127.0.0.1', port: 40000, connectionId: 7 },
    userAgent: 'SIP.js/0.21.1',
    ...over,
  };
}

function setup(): { r: Registrar; clock: ManualClock; removed: Array<[string, RemovalReason]> } {
  const r = new Registrar(POLICY);
  const clock = new ManualClock(1_000_000);
  const removed: Array<[string, RemovalReason]> = [];
  r.events.on('removed', (b, reason) => removed.push([b.contact, reason]));
  return { r, clock, removed };
}

describe('Registrar', () => {
  it('adds a binding with the expiry asked for, and finds it', () => {
    const { r, clock } = setup();
    const out = r.register(req(), clock.now());
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.added).toHaveLength(1);
    const b = r.lookup('acme', 'alice', clock.now());
    expect(b).toMatchObject({ contact: 'sip:x1@h1.invalid;transport=ws', expiresAt: clock.now() + 600_000, flow: { connectionId: 7 } });
    expect(r.lookup('acme', 'bob', clock.now())).toBeUndefined();
    expect(r.lookup('other', 'alice', clock.now())).toBeUndefined();
    expect(r.count).toBe(1);
  });

  it('a refresh (same Call-ID, higher CSeq) moves the expiry and keeps one binding; an old CSeq gets 500', () => {
    const { r, clock } = setup();
    r.register(req(), clock.now());
    clock.advance(500_000);
    const again = r.register(req({ cseq: 2, contacts: [contact('SIP:x1@H1.INVALID;transport=ws', 600)] }), clock.now());
    expect(again.ok && again.bindings.length).toBe(1);
    expect(r.lookup('acme', 'alice', clock.now())?.expiresAt).toBe(clock.now() + 600_000);
    const stale = r.register(req({ cseq: 2 }), clock.now());
    expect(stale).toMatchObject({ ok: false, status: 500 });
  });

  it('too brief: 423 with Min-Expires and nothing changes; too long: capped at maxExpiresSeconds', () => {
    const { r, clock } = setup();
    expect(r.register(req({ contacts: [contact('sip:a@h.invalid', 30)] }), clock.now())).toEqual({ ok: false, status: 423, reason: 'Interval Too Brief', headers: [['Min-Expires', '60']] });
    expect(r.count).toBe(0);
    r.register(req({ contacts: [contact('sip:a@h.invalid')], expiresHeader: 86_400 }), clock.now());
    expect(r.lookup('acme', 'alice', clock.now())?.expiresAt).toBe(clock.now() + 3_600_000);
    // neither a parameter nor a header: RFC 3261's 3600 s
    r.register(req({ identity: 'bob', contacts: [contact('sip:b@h.invalid')] }), clock.now());
    expect(r.lookup('acme', 'bob', clock.now())?.expiresAt).toBe(clock.now() + 3_600_000);
  });

  it('expires 0 removes that contact; Contact * with Expires 0 removes them all; * without it is 400', () => {
    const { r, clock, removed } = setup();
    r.register(req({ contacts: [contact('sip:a@h.invalid', 600), contact('sip:b@h.invalid', 600)] }), clock.now());
    expect(r.count).toBe(2);
    const out = r.register(req({ cseq: 2, contacts: [contact('sip:a@h.invalid', 0)] }), clock.now());
    expect(out.ok && out.bindings.map((b) => b.contact)).toEqual(['sip:b@h.invalid']);
    expect(r.register(req({ cseq: 3, contacts: '*', expiresHeader: 600 }), clock.now())).toMatchObject({ ok: false, status: 400 });
    expect(r.register(req({ cseq: 4, contacts: '*', expiresHeader: 0 }), clock.now())).toMatchObject({ ok: true, bindings: [] });
    expect(removed).toEqual([
      ['sip:a@h.invalid', 'unregistered'],
      ['sip:b@h.invalid', 'unregistered'],
    ]);
    expect(r.count).toBe(0);
  });

  it('a binding not refreshed expires: gone from lookups and lists at its expiry, not before', () => {
    const { r, clock, removed } = setup();
    r.register(req({ contacts: [contact('sip:a@h.invalid', 60)] }), clock.now());
    clock.advance(59_999);
    expect(r.lookup('acme', 'alice', clock.now())).toBeDefined();
    clock.advance(1);
    expect(r.lookup('acme', 'alice', clock.now())).toBeUndefined();
    expect(r.list(clock.now())).toEqual([]);
    expect(r.count).toBe(0);
    expect(removed).toEqual([['sip:a@h.invalid', 'expired']]);
    // sweep finds expired bindings of every identity
    r.register(req({ identity: 'bob', contacts: [contact('sip:b@h.invalid', 60)] }), clock.now());
    r.register(req({ identity: 'carol', contacts: [contact('sip:c@h.invalid', 120)] }), clock.now());
    clock.advance(60_000);
    expect(r.sweep(clock.now())).toBe(1);
    expect(r.count).toBe(1);
  });

  it('a flow that closes takes its bindings, and only its own (RFC 5626 §5.2)', () => {
    const { r, clock, removed } = setup();
    r.register(req({ contacts: [contact('sip:a@h.invalid', 600)] }), clock.now());
    r.register(req({ identity: 'bob', callId: 'call-2', contacts: [contact('sip:b@h.invalid', 600)] }), clock.now());
    r.register(req({ identity: 'carol', callId: 'call-3', contacts: [contact('sip:c@h.invalid', 600)], flow: { transport: 'ws', address: '127.0.0.1', port: 40001, connectionId: 8 } }), clock.now());
    expect(r.flowClosed(7)).toBe(2);
    expect(r.flowClosed(7)).toBe(0);
    expect(removed.map(([, reason]) => reason)).toEqual(['flow-closed', 'flow-closed']);
    expect(r.lookup('acme', 'carol', clock.now())).toBeDefined();
    // a refresh over a new connection moves the binding to it
    r.register(req({ identity: 'carol', callId: 'call-3', cseq: 2, contacts: [contact('sip:c@h.invalid', 600)], flow: { transport: 'ws', address: '127.0.0.1', port: 40002, connectionId: 9 } }), clock.now());
    expect(r.flowClosed(8)).toBe(0);
    expect(r.flowClosed(9)).toBe(1);
    expect(r.count).toBe(0);
  });

  it('the newest registration is the one rung; past maxBindingsPerIdentity the oldest goes', () => {
    const { r, clock, removed } = setup();
    for (let i = 1; i <= 4; i++) {
      r.register(req({ callId: `c${i}`, contacts: [contact(`sip:d${i}@h.invalid`, 600)] }), clock.now());
      clock.advance(10);
    }
    expect(r.bindingsOf('acme', 'alice', clock.now()).map((b) => b.contact)).toEqual(['sip:d2@h.invalid', 'sip:d3@h.invalid', 'sip:d4@h.invalid']);
    expect(removed).toEqual([['sip:d1@h.invalid', 'replaced']]);
    expect(r.lookup('acme', 'alice', clock.now())?.contact).toBe('sip:d4@h.invalid');
  });

  it('the same +sip.instance and reg-id on a new contact replaces the old binding (a reconnect)', () => {
    const { r, clock, removed } = setup();
    const instance = '"<urn:uuid:00000000-0000-0000-0000-000000000001>"';
    const first = r.register(req({ contacts: [contact('sip:old@h.invalid', 600, { instance, regId: '1' })] }), clock.now());
    expect(first.ok && first.outbound).toBe(true);
    r.register(req({ callId: 'call-9', contacts: [contact('sip:new@h.invalid', 600, { instance, regId: '1' })], flow: { transport: 'ws', address: '127.0.0.1', port: 40009, connectionId: 11 } }), clock.now());
    expect(r.bindingsOf('acme', 'alice', clock.now()).map((b) => b.contact)).toEqual(['sip:new@h.invalid']);
    expect(removed).toEqual([['sip:old@h.invalid', 'replaced']]);
    expect(r.flowClosed(7)).toBe(0);
  });

  it('busy: an identity is in a call until every call releases it; release is idempotent', () => {
    const { r } = setup();
    const a = r.occupy('acme', 'alice');
    const b = r.occupy('acme', 'alice');
    expect(r.isBusy('acme', 'alice')).toBe(true);
    expect(r.isBusy('acme', 'bob')).toBe(false);
    a();
    a();
    expect(r.isBusy('acme', 'alice')).toBe(true);
    b();
    expect(r.isBusy('acme', 'alice')).toBe(false);
    expect(r.callsInProgress).toBe(0);
  });

  it('retain drops the identities a reload removed', () => {
    const { r, clock, removed } = setup();
    r.register(req(), clock.now());
    r.register(req({ identity: 'bob', contacts: [contact('sip:b@h.invalid', 600)] }), clock.now());
    expect(r.retain((_a, identity) => identity === 'bob')).toBe(1);
    expect(removed).toEqual([['sip:x1@h1.invalid;transport=ws', 'removed']]);
  });

  it('compares contacts as RFC 3261 §19.1.4 does for what matters: scheme and host without case, the user as written', () => {
    expect(sameContact('sip:Alice@Example.COM;transport=ws', 'SIP:Alice@example.com')).toBe(true);
    expect(sameContact('sip:alice@example.com', 'sip:Alice@example.com')).toBe(false);
  });

  it('property: whatever registers, refreshes, un-registers, expires or closes, the count is what is listed, and ends at 0', () => {
    type Op =
      | { kind: 'register'; who: number; device: number; seconds: number; conn: number }
      | { kind: 'unregister'; who: number; device: number }
      | { kind: 'advance'; ms: number }
      | { kind: 'close'; conn: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('register' as const), who: fc.integer({ min: 0, max: 2 }), device: fc.integer({ min: 0, max: 4 }), seconds: fc.integer({ min: 60, max: 300 }), conn: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('unregister' as const), who: fc.integer({ min: 0, max: 2 }), device: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200_000 }) }),
      fc.record({ kind: fc.constant('close' as const), conn: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { r, clock } = setup();
        let added = 0;
        let gone = 0;
        r.events.on('added', () => added++);
        r.events.on('removed', () => gone++);
        let cseq = 0;
        for (const o of ops) {
          if (o.kind === 'advance') clock.advance(o.ms);
          else if (o.kind === 'close') r.flowClosed(o.conn);
          else {
            const identity = `u${o.who}`;
            const seconds = o.kind === 'register' ? o.seconds : 0;
            const conn = o.kind === 'register' ? o.conn : 1;
            r.register(req({ identity, callId: `${identity}-${o.device}`, cseq: ++cseq, contacts: [contact(`sip:d${o.device}@h.invalid`, seconds)], flow: { transport: 'ws', address: '127.0.0.1', port: 40000 + conn, connectionId: conn } }), clock.now());
          }
          expect(r.count).toBeGreaterThanOrEqual(0);
          for (const who of [0, 1, 2]) expect(r.bindingsOf('acme', `u${who}`, clock.now()).length).toBeLessThanOrEqual(POLICY.maxBindingsPerIdentity);
          expect(r.list(clock.now()).length).toBe(r.count);
          expect(added - gone).toBe(r.count);
        }
        for (const conn of [1, 2, 3]) r.flowClosed(conn);
        expect(r.count).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
