import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { type CallLease, ConcurrencyTracker, LeaseScope, type ReleaseReason } from '../../../src/limits/concurrency.js';

/**
 * Scopes are objects made once per trunk or account and shared by every
 * call; here they are made on first use by key (`trunk:acme`), and a later
 * use with another cap changes the cap, as a reload does.
 */
let scopes = new Map<string, LeaseScope>();
beforeEach(() => {
  scopes = new Map();
});

function scopeOf(key: string, cap: number | null): LeaseScope {
  let s = scopes.get(key);
  if (s === undefined) {
    const [kind, name] = key.split(':') as ['trunk' | 'account', string];
    s = new LeaseScope(kind, name, cap);
    scopes.set(key, s);
  }
  s.cap = cap;
  return s;
}

function keyOf(scope: LeaseScope): string {
  return `${scope.kind}:${scope.name}`;
}

/** Leases held in the scope named `key` (0 when it was never used). */
function count(key: string): number {
  return scopes.get(key)?.active ?? 0;
}

function acquired(tracker: ConcurrencyTracker, leaseScopes: readonly LeaseScope[]): CallLease {
  const r = tracker.tryAcquire(leaseScopes);
  if (!r.ok) throw new Error(`expected a lease, refused in ${keyOf(r.scope)} at ${r.active}`);
  return r.lease;
}

describe('ConcurrencyTracker (SPEC §4.4)', () => {
  const trunk = (cap: number | null): LeaseScope => scopeOf('trunk:acme', cap);
  const account = (cap: number | null): LeaseScope => scopeOf('account:acme', cap);

  it('starts empty', () => {
    const t = new ConcurrencyTracker();
    expect([t.active, t.issued, t.released, t.doubleReleases]).toEqual([0, 0, 0, 0]);
    expect(count('trunk:acme')).toBe(0);
  });

  it('a lease counts in every scope it was taken in', () => {
    const t = new ConcurrencyTracker();
    const lease = acquired(t, [trunk(5), account(5)]);
    expect(t.active).toBe(1);
    expect(t.issued).toBe(1);
    expect(count('trunk:acme')).toBe(1);
    expect(count('account:acme')).toBe(1);
    expect(count('trunk:other')).toBe(0);
    expect(lease.scopes.map(keyOf)).toEqual(['trunk:acme', 'account:acme']);
    expect(lease.released).toBe(false);
    expect(lease.releaseReason).toBeUndefined();
  });

  it('the trunk cap refuses the call over it, naming the trunk scope', () => {
    const t = new ConcurrencyTracker();
    acquired(t, [trunk(2), account(10)]);
    acquired(t, [trunk(2), account(10)]);
    const r = t.tryAcquire([trunk(2), account(10)]);
    expect(r).toEqual({ ok: false, scope: trunk(2), active: 2 });
  });

  it('the account cap refuses the call over it, across trunks, naming the account scope', () => {
    const t = new ConcurrencyTracker();
    acquired(t, [scopeOf('trunk:a', null), account(2)]);
    acquired(t, [scopeOf('trunk:b', null), account(2)]);
    const r = t.tryAcquire([scopeOf('trunk:c', null), account(2)]);
    expect(r).toEqual({ ok: false, scope: account(2), active: 2 });
    expect(count('trunk:c')).toBe(0);
  });

  it('a null cap never refuses', () => {
    const t = new ConcurrencyTracker();
    for (let i = 0; i < 1000; i++) acquired(t, [trunk(null), account(null)]);
    expect(t.active).toBe(1000);
    expect(count('trunk:acme')).toBe(1000);
  });

  it('a cap of 0 refuses every call', () => {
    const t = new ConcurrencyTracker();
    expect(t.tryAcquire([trunk(0)])).toEqual({ ok: false, scope: trunk(0), active: 0 });
    expect(t.tryAcquire([trunk(null), account(0)]).ok).toBe(false);
  });

  it('no scopes: a lease that counts only in active', () => {
    const t = new ConcurrencyTracker();
    const lease = acquired(t, []);
    expect(t.active).toBe(1);
    lease.release('bye-caller');
    expect(t.active).toBe(0);
  });

  it('acquisition is all or nothing: a refusal in the last scope leaves the earlier ones unchanged', () => {
    const t = new ConcurrencyTracker();
    acquired(t, [scopeOf('trunk:b', null), account(1)]);
    const before = { trunk: count('trunk:acme'), account: count('account:acme'), active: t.active, issued: t.issued };
    const r = t.tryAcquire([trunk(5), account(1)]);
    expect(r.ok).toBe(false);
    expect({ trunk: count('trunk:acme'), account: count('account:acme'), active: t.active, issued: t.issued }).toEqual(before);
    expect(before).toEqual({ trunk: 0, account: 1, active: 1, issued: 1 });
  });

  it('release gives the capacity back in every scope, once', () => {
    const t = new ConcurrencyTracker();
    const a = acquired(t, [trunk(1), account(1)]);
    expect(t.tryAcquire([trunk(1), account(1)]).ok).toBe(false);
    expect(a.release('bye-callee')).toBe(true);
    expect(a.released).toBe(true);
    expect(a.releaseReason).toBe('bye-callee');
    expect([t.active, t.released, count('trunk:acme'), count('account:acme')]).toEqual([0, 1, 0, 0]);
    expect(t.tryAcquire([trunk(1), account(1)]).ok).toBe(true);
  });

  it('release() is idempotent: a double release changes no count, is counted and reported', () => {
    const t = new ConcurrencyTracker();
    const reported: Array<[CallLease, ReleaseReason]> = [];
    t.events.on('doubleRelease', (lease, reason) => reported.push([lease, reason]));
    const a = acquired(t, [trunk(null), account(null)]);
    const b = acquired(t, [trunk(null), account(null)]);
    expect(a.release('canceled')).toBe(true);
    expect(a.release('bye-caller')).toBe(false);
    expect(a.release('shutdown')).toBe(false);
    expect(a.releaseReason).toBe('canceled');
    expect(t.doubleReleases).toBe(2);
    expect(reported).toEqual([
      [a, 'bye-caller'],
      [a, 'shutdown'],
    ]);
    expect([t.active, t.released, count('trunk:acme'), count('account:acme')]).toEqual([1, 1, 1, 1]);
    expect(b.released).toBe(false);
    expect(b.release('admin')).toBe(true);
    expect([t.active, t.released, count('trunk:acme'), count('account:acme'), t.doubleReleases]).toEqual([0, 2, 0, 0, 2]);
  });

  it('a double release with no one listening is still counted', () => {
    const t = new ConcurrencyTracker();
    const a = acquired(t, [trunk(1)]);
    a.release('no-ack');
    a.release('no-ack');
    expect(t.doubleReleases).toBe(1);
    expect(t.active).toBe(0);
  });

  it('a double release cannot free a slot held by another call', () => {
    const t = new ConcurrencyTracker();
    const a = acquired(t, [trunk(1)]);
    a.release('bye-caller');
    acquired(t, [trunk(1)]);
    a.release('bye-caller');
    expect(count('trunk:acme')).toBe(1);
    expect(t.tryAcquire([trunk(1)]).ok).toBe(false);
  });
});

describe('ConcurrencyTracker properties', () => {
  const KEYS = ['trunk:a', 'trunk:b', 'trunk:c', 'account:x', 'account:y'] as const;
  const REASONS: ReleaseReason[] = [
    'rejected',
    'canceled',
    'bye-caller',
    'bye-callee',
    'invite-timeout',
    'no-ack',
    'max-duration',
    'transport-error',
    'admin',
    'shutdown',
  ];

  type Op = { kind: 'acquire'; keys: number[] } | { kind: 'release'; which: number; reason: ReleaseReason };

  const capArb = fc.option(fc.integer({ min: 0, max: 4 }), { nil: null });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('acquire' as const),
      keys: fc.uniqueArray(fc.integer({ min: 0, max: KEYS.length - 1 }), { maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('release' as const), which: fc.nat(), reason: fc.constantFrom(...REASONS) }),
  );

  it('for any interleaving: counts never negative, never over caps, exactly as modelled, 0 once every lease is released', () => {
    fc.assert(
      fc.property(
        fc.array(capArb, { minLength: KEYS.length, maxLength: KEYS.length }),
        fc.array(opArb, { maxLength: 200 }),
        (caps, ops) => {
          scopes = new Map();
          const tracker = new ConcurrencyTracker();
          let reported = 0;
          tracker.events.on('doubleRelease', () => reported++);
          const scope = (i: number): LeaseScope => scopeOf(KEYS[i] as string, caps[i] ?? null);
          const leases: CallLease[] = [];
          const model = new Map<string, number>();
          let live = 0;
          let extraReleases = 0;
          let granted = 0;

          const check = (): void => {
            expect(tracker.active).toBe(live);
            expect(tracker.active).toBeGreaterThanOrEqual(0);
            for (let i = 0; i < KEYS.length; i++) {
              const n = count(KEYS[i] as string);
              expect(n).toBeGreaterThanOrEqual(0);
              expect(n).toBe(model.get(KEYS[i] as string) ?? 0);
              const cap = caps[i];
              if (cap !== null && cap !== undefined) expect(n).toBeLessThanOrEqual(cap);
            }
            expect(tracker.doubleReleases).toBe(extraReleases);
            expect(reported).toBe(extraReleases);
          };

          for (const op of ops) {
            if (op.kind === 'acquire') {
              const scopes = op.keys.map(scope);
              const fits = scopes.every((s) => s.cap === null || (model.get(keyOf(s)) ?? 0) < s.cap);
              const r = tracker.tryAcquire(scopes);
              expect(r.ok).toBe(fits);
              if (r.ok) {
                leases.push(r.lease);
                for (const s of scopes) model.set(keyOf(s), (model.get(keyOf(s)) ?? 0) + 1);
                live++;
                granted++;
              } else {
                expect(r.scope.cap).not.toBeNull();
                expect(r.active).toBe(model.get(keyOf(r.scope)) ?? 0);
                expect(r.active).toBeGreaterThanOrEqual(r.scope.cap as number);
              }
            } else if (leases.length > 0) {
              const lease = leases[op.which % leases.length] as CallLease;
              const first = !lease.released;
              expect(lease.release(op.reason)).toBe(first);
              if (first) {
                for (const s of lease.scopes) model.set(keyOf(s), (model.get(keyOf(s)) ?? 0) - 1);
                live--;
              } else {
                extraReleases++;
              }
            }
            check();
          }

          // Every path ends: release whatever is still held.
          for (const lease of leases) {
            if (!lease.released) {
              expect(lease.release('shutdown')).toBe(true);
              for (const s of lease.scopes) model.set(keyOf(s), (model.get(keyOf(s)) ?? 0) - 1);
              live--;
            }
          }
          check();
          expect(tracker.active).toBe(0);
          for (const key of KEYS) expect(count(key)).toBe(0);
          expect(tracker.issued).toBe(granted);
          expect(tracker.released).toBe(granted);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('releasing every lease k extra times counts exactly the extra releases', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom(...KEYS), extra: fc.nat({ max: 3 }) }), { maxLength: 50 }),
        fc.array(capArb, { minLength: KEYS.length, maxLength: KEYS.length }),
        (calls, caps) => {
          scopes = new Map();
          const tracker = new ConcurrencyTracker();
          let reported = 0;
          tracker.events.on('doubleRelease', () => reported++);
          const held: Array<{ lease: CallLease; extra: number }> = [];
          for (const c of calls) {
            const r = tracker.tryAcquire([
              scopeOf(c.key, caps[KEYS.indexOf(c.key)] ?? null),
              scopeOf('account:all', null),
            ]);
            if (r.ok) held.push({ lease: r.lease, extra: c.extra });
          }
          expect(tracker.active).toBe(held.length);
          expect(count('account:all')).toBe(held.length);
          let expectedExtra = 0;
          for (const { lease, extra } of held) {
            expect(lease.release('bye-caller')).toBe(true);
            for (let i = 0; i < extra; i++) expect(lease.release('bye-callee')).toBe(false);
            expectedExtra += extra;
            expect(tracker.active).toBeGreaterThanOrEqual(0);
          }
          expect(tracker.active).toBe(0);
          expect(count('account:all')).toBe(0);
          for (const key of KEYS) expect(count(key)).toBe(0);
          expect(tracker.doubleReleases).toBe(expectedExtra);
          expect(reported).toBe(expectedExtra);
          expect(tracker.released).toBe(held.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
