/**
 * The shared limit store's Lua scripts against a real Redis (SPEC §12): on
 * the same arrival times (a fake clock, passed to the scripts), the Redis
 * store admits exactly what the in-memory store admits, for every CPS
 * algorithm, with pooled CPS and concurrency caps, give-backs included; lease
 * expiry, heartbeats, re-registration, sweeping, the live view, key TTLs and
 * the Console's settings.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/limits/clock.js';
import { type CallLease, ConcurrencyTracker, LeaseScope } from '../../src/limits/concurrency.js';
import { CpsScope, type CpsSettings } from '../../src/limits/cps-scope.js';
import { type LimitRequest, type LimitResult, MemoryLimitStore } from '../../src/limits/limit-store.js';
import type { CpsAlgorithm } from '../../src/limits/rate-limiters.js';
import { RedisBackend } from '../../src/store/redis-backend.js';
import { SharedConsoleSettings } from '../../src/store/shared-console-settings.js';
import { SharedLimitStore } from '../../src/store/shared-limit-store.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

let redis: RedisServer;
let runs = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.dispose();
});

const T0 = 1_700_000_000_000.25;

/** One side (memory or Redis) of a comparison: its own scopes with the same ids, the same clock. */
interface Side {
  trunkCps: CpsScope;
  pooledCps: CpsScope;
  trunkLeases: LeaseScope;
  accountLeases: LeaseScope;
  tracker: ConcurrencyTracker;
  take(req: LimitRequest): LimitResult | Promise<LimitResult>;
}

function scopes(trunkCap: number | null, accountCap: number | null): Omit<Side, 'take'> {
  return {
    trunkCps: new CpsScope('trunk', 'acme', 'us1'),
    pooledCps: new CpsScope('account', 'acme', 'us1'),
    trunkLeases: new LeaseScope('trunk', 'acme', trunkCap),
    accountLeases: new LeaseScope('account', 'acme', accountCap),
    tracker: new ConcurrencyTracker(),
  };
}

function request(side: Side, trunk: CpsSettings, pooled: CpsSettings | undefined): LimitRequest {
  return {
    trunkCps: side.trunkCps,
    trunkSettings: trunk,
    pooledCps: pooled === undefined ? undefined : side.pooledCps,
    pooledSettings: pooled,
    leaseScopes: [side.trunkLeases, side.accountLeases],
  };
}

function outcome(r: LimitResult): string {
  return r.ok ? 'admitted' : r.refused;
}

async function sharedSide(clock: ManualClock, trunkCap: number | null, accountCap: number | null, leaseTtlMs = 1e12): Promise<{ side: Side; store: SharedLimitStore; backend: RedisBackend }> {
  const s = scopes(trunkCap, accountCap);
  const backend = new RedisBackend({ url: redis.url, keyPrefix: `t${++runs}`, commandTimeoutMs: 5000, instance: 'prop', clock });
  const store = new SharedLimitStore({ backend, tracker: s.tracker, instance: 'prop', onStoreFailure: 'closed', leaseTtlMs, sweepScopes: () => [s.trunkLeases, s.accountLeases], boot: 'b' });
  await backend.connect(5000);
  expect(backend.ready).toBe(true);
  return { side: { ...s, take: (req) => store.take(req) }, store, backend };
}

const ALGORITHMS: CpsAlgorithm[] = ['token-bucket', 'sliding-window', 'fixed-window'];

describe('Lua limiters against the in-memory ones: the same admissions on the same arrival times', () => {
  it('every algorithm, fractional CPS, bursts, tolerances, pooled CPS and caps, with releases in between', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.constantFrom(0, 0.3, 0.5, 1, 2.5, 5, 7, 20, 100),
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
        fc.option(fc.double({ min: 0, max: 300, noNaN: true }), { nil: null }),
        fc.option(fc.constantFrom(0.5, 1, 3, 10), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
        fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
        fc.array(fc.record({ gapMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1500, noNaN: true }), fc.integer({ min: 0, max: 3000 })), release: fc.nat({ max: 3 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (algorithm, cps, burst, toleranceMs, pooledCps, trunkCap, accountCap, ops) => {
          const clock = new ManualClock(T0);
          const mem = scopes(trunkCap, accountCap);
          const memory: Side = { ...mem, take: (req) => new MemoryLimitStore(mem.tracker, clock).take(req) };
          const { side: shared, store } = await sharedSide(clock, trunkCap, accountCap);
          const trunk: CpsSettings = { algorithm, cps, burst, toleranceMs };
          const pooled: CpsSettings | undefined = pooledCps === undefined ? undefined : { algorithm, cps: pooledCps, burst: null, toleranceMs };
          const held: Array<[CallLease, CallLease]> = [];
          const seen: string[] = [];
          try {
            for (const op of ops) {
              clock.advance(op.gapMs);
              // release one held call (on both sides) every so often: the caps see it
              if (op.release === 0 && held.length > 0) {
                const [a, b] = held.shift() as [CallLease, CallLease];
                a.release('bye-caller');
                b.release('bye-caller');
              }
              const m = memory.take(request(memory, trunk, pooled)) as LimitResult;
              const r = await shared.take(request(shared, trunk, pooled));
              seen.push(`${clock.now() - T0}: ${outcome(m)}`);
              expect(outcome(r), seen.join('\n')).toBe(outcome(m));
              if (m.ok && r.ok) held.push([m.lease, r.lease]);
            }
          } finally {
            for (const [a, b] of held) {
              a.release('bye-caller');
              b.release('bye-caller');
            }
            await store.stop();
          }
          expect(shared.tracker.doubleReleases).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('steady overload at 5x: identical admissions for a long run (token bucket with its default τ)', async () => {
    const clock = new ManualClock(T0);
    const mem = scopes(null, null);
    const memStore = new MemoryLimitStore(mem.tracker, clock);
    const { side, store } = await sharedSide(clock, null, null);
    const settings: CpsSettings = { algorithm: 'token-bucket', cps: 20, burst: null, toleranceMs: null };
    let admittedMemory = 0;
    let admittedShared = 0;
    for (let i = 0; i < 2000; i++) {
      clock.set(T0 + i * 10 + (i % 7) * 0.37);
      const m = memStore.take(request({ ...mem, take: () => ({ ok: false, refused: 'trunk-cps' }) }, settings, undefined));
      const r = await side.take(request(side, settings, undefined));
      expect(outcome(r)).toBe(outcome(m));
      if (m.ok) {
        admittedMemory++;
        m.lease.release('bye-caller');
      }
      if (r.ok) {
        admittedShared++;
        r.lease.release('bye-caller');
      }
    }
    expect(admittedShared).toBe(admittedMemory);
    // ~20 s at CPS 20, burst 20
    expect(admittedShared).toBeGreaterThanOrEqual(20 * 20 - 1);
    expect(admittedShared).toBeLessThanOrEqual(20 + 20 * 20.1);
    await store.stop();
  });
});

describe('leases in Redis', () => {
  it('a lease expires after its TTL without a heartbeat: the next admission removes it, reports it, and its capacity is back', async () => {
    const clock = new ManualClock(T0);
    const { side, store } = await sharedSide(clock, 1, null, 1000);
    const expired: string[][] = [];
    store.events.on('leasesExpired', (ids) => expired.push(ids));
    const tb: CpsSettings = { algorithm: 'token-bucket', cps: 1000, burst: null, toleranceMs: null };
    const first = await side.take(request(side, tb, undefined));
    expect(first.ok).toBe(true);
    clock.advance(999);
    expect(outcome(await side.take(request(side, tb, undefined)))).toBe('concurrency');
    clock.advance(1);
    const again = await side.take(request(side, tb, undefined));
    expect(outcome(again)).toBe('admitted');
    expect(expired).toEqual([['prop/b/1', 'prop/b/1']]); // from the trunk's set and the account's
    await store.stop();
  });

  it('a heartbeat extends live leases only; registering adds them back; a sweep removes and returns the expired ones', async () => {
    const clock = new ManualClock(T0);
    const { side, backend } = await sharedSide(clock, null, null, 1000);
    const c = redis.client();
    const leases = [side.trunkLeases];
    const key = `${backend.keys.leaseSet(side.trunkLeases)}`;
    expect(await backend.heartbeat([{ id: 'x/1/1', scopes: leases }], 1000, false)).toBe(0);
    expect(await c.zcard(key)).toBe(0);
    expect(await backend.heartbeat([{ id: 'x/1/1', scopes: leases }], 1000, true)).toBe(1);
    expect(Number(await c.zscore(key, 'x/1/1'))).toBe(T0 + 1000);
    clock.advance(500);
    expect(await backend.heartbeat([{ id: 'x/1/1', scopes: leases }], 1000, false)).toBe(1);
    expect(Number(await c.zscore(key, 'x/1/1'))).toBe(T0 + 1500);
    expect(await c.pttl(key)).toBeGreaterThan(1000);
    clock.advance(999);
    expect(await backend.sweep(leases)).toEqual([]);
    clock.advance(1); // at its expiry: gone
    expect(await backend.sweep(leases)).toEqual(['x/1/1']);
    expect(await c.zcard(key)).toBe(0);
    expect(await backend.release('x/1/1', leases)).toBe(0); // removing again changes nothing
    await backend.close();
  });

  it('the live view counts live leases and shows what the in-memory limiter would', async () => {
    const clock = new ManualClock(T0);
    const { side, store } = await sharedSide(clock, null, null, 5000);
    const settings: CpsSettings = { algorithm: 'token-bucket', cps: 2, burst: 3, toleranceMs: 0 };
    const before = await store.snapshot({ cps: [{ scope: side.trunkCps, settings }], leases: [side.trunkLeases, side.accountLeases] });
    expect(before).toEqual({ shared: true, available: [null], active: [0, 0] });
    const a = await side.take(request(side, settings, undefined));
    const b = await side.take(request(side, settings, undefined));
    clock.advance(250);
    const view = await store.snapshot({ cps: [{ scope: side.trunkCps, settings }], leases: [side.trunkLeases, side.accountLeases] });
    expect(view).toEqual({ shared: true, available: [1.5], active: [2, 2] });
    if (a.ok) a.lease.release('bye-caller');
    if (b.ok) b.lease.release('bye-caller');
    await waitFor(async () => {
      const after = await store.snapshot({ cps: [], leases: [side.trunkLeases] });
      return !(after instanceof Promise) && after.active[0] === 0;
    });
    await store.stop();
  });

  it('limiter keys carry a TTL (idle limiters vanish), and new settings are a new limiter', async () => {
    const clock = new ManualClock(T0);
    const { side, store, backend } = await sharedSide(clock, null, null);
    const c = redis.client();
    const one: CpsSettings = { algorithm: 'token-bucket', cps: 1, burst: null, toleranceMs: 0 };
    expect((await side.take(request(side, one, undefined))).ok).toBe(true);
    expect((await side.take(request(side, one, undefined))).ok).toBe(false);
    const key = backend.keys.limiter(side.trunkCps, side.trunkCps.resolved(one));
    const ttl = await c.pttl(key);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(61_000);
    // a changed CPS is a fresh limiter (as in memory): admitted at once
    const two: CpsSettings = { ...one, cps: 2 };
    expect((await side.take(request(side, two, undefined))).ok).toBe(true);
    expect(backend.keys.limiter(side.trunkCps, side.trunkCps.resolved(two))).not.toBe(key);
    for (const k of await c.keys(`${backend.keys.prefix}:*`)) expect(await c.pttl(k), k).toBeGreaterThan(0);
    await store.stop();
  });
});

describe("the Console's settings in Redis", () => {
  it('a change written by one instance reaches the other through the store; a store that lost them gets them back', async () => {
    const prefix = `console${++runs}`;
    const a = new RedisBackend({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 2000, instance: 'a' });
    const b = new RedisBackend({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 2000, instance: 'b' });
    const consoleA = new SharedConsoleSettings(a);
    const consoleB = new SharedConsoleSettings(b);
    await Promise.all([a.connect(5000), b.connect(5000)]);
    const scope = new CpsScope('trunk', 'acme', 'us1');
    // the subscriber of b is up once a PUBLISH reaches one client
    await waitFor(async () => ((await redis.client().pubsub('NUMSUB', `${prefix}:console`)) as [string, number])[1] === 2, { what: 'both subscribers' });
    await consoleA.set(scope, { cps: 7, pending: { cps: 3, effectiveAtMs: 123 } });
    expect(consoleA.get(scope)).toEqual({ cps: 7, pending: { cps: 3, effectiveAtMs: 123 } });
    await waitFor(() => consoleB.get(scope)?.cps === 7, { what: 'b to see the change' });
    expect(consoleB.get(scope)).toEqual({ cps: 7, pending: { cps: 3, effectiveAtMs: 123 } });
    // Redis loses everything; b writes back what it knew
    await redis.client().flushall();
    await consoleB.resync();
    expect(await redis.client().hget(`${prefix}:console`, scope.id)).toBe(JSON.stringify({ cps: 7, pending: { cps: 3, effectiveAtMs: 123 } }));
    await Promise.all([a.close(), b.close()]);
  });
});
