/**
 * The store-independent logic of the shared limit store (src/store/
 * shared-limit-store.ts) on fake timers, with a scripted backend that records
 * what it is asked and answers as told (the Lua scripts themselves are tested
 * against a real Redis in test/integration/shared-limits-lua.test.ts):
 * onStoreFailure closed/open, heartbeats every leaseTtlMs/3, owed releases,
 * re-registration on reconnect, expired leases reported, nothing released twice.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConcurrencyTracker, LeaseScope } from '../../../src/limits/concurrency.js';
import { CpsScope } from '../../../src/limits/cps-scope.js';
import type { LimitRequest, LimitResult } from '../../../src/limits/limit-store.js';
import type { AdmitStep, BackendEventMap, LimiterRef, SharedLimitsBackend } from '../../../src/store/redis-backend.js';
import { SharedLimitStore } from '../../../src/store/shared-limit-store.js';

type Call = { op: string; ids: string[]; register?: boolean };

/** A backend that answers as the test says and records every call. */
class ScriptedBackend implements SharedLimitsBackend {
  readonly events = new EventEmitter<BackendEventMap>();
  ready = true;
  calls: Call[] = [];
  /** What the next admissions answer (default: admitted). */
  steps: AdmitStep[] = [];
  expired: string[] = [];
  failing = false;

  private answer<T>(value: T): Promise<T> {
    return this.failing ? Promise.reject(new Error('connection lost')) : Promise.resolve(value);
  }
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  admit(_t: LimiterRef, _p: LimiterRef | undefined, _l: readonly LeaseScope[], leaseId: string): Promise<{ step: AdmitStep; expired: string[] }> {
    this.calls.push({ op: 'admit', ids: [leaseId] });
    return this.answer({ step: this.steps.shift() ?? 0, expired: [] });
  }
  lease(_l: readonly LeaseScope[], leaseId: string): Promise<{ step: 0 | 3; expired: string[] }> {
    this.calls.push({ op: 'lease', ids: [leaseId] });
    const step = this.steps.shift() ?? 0;
    return this.answer({ step: step === 0 ? 0 : 3, expired: [] });
  }
  release(leaseId: string): Promise<number> {
    this.calls.push({ op: 'release', ids: [leaseId] });
    return this.answer(1);
  }
  heartbeat(leases: ReadonlyArray<{ id: string }>, _ttl: number, register: boolean): Promise<number> {
    this.calls.push({ op: 'heartbeat', ids: leases.map((l) => l.id), register });
    return this.answer(leases.length);
  }
  sweep(): Promise<string[]> {
    this.calls.push({ op: 'sweep', ids: [] });
    const e = this.expired;
    this.expired = [];
    return this.answer(e);
  }
  peek(): Promise<{ available: Array<number | null>; active: number[] }> {
    return this.answer({ available: [], active: [] });
  }
  consoleReadAll(): Promise<Map<string, string>> {
    return Promise.resolve(new Map<string, string>());
  }
  async consoleWrite(): Promise<void> {}
  async consoleRestore(): Promise<void> {}
  /** Calls of one kind, their lease ids. */
  of(op: string): string[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.ids);
  }
}

const TTL = 3000;

function setup(onStoreFailure: 'closed' | 'open' = 'closed') {
  const backend = new ScriptedBackend();
  const tracker = new ConcurrencyTracker();
  const trunk = new LeaseScope('trunk', 'acme', 2);
  const account = new LeaseScope('account', 'acme', null);
  const store = new SharedLimitStore({ backend, tracker, instance: 'gw-a', onStoreFailure, leaseTtlMs: TTL, sweepScopes: () => [trunk, account], boot: 'b' });
  const req: LimitRequest = {
    trunkCps: new CpsScope('trunk', 'acme', 'us1'),
    trunkSettings: { algorithm: 'token-bucket', cps: 10, burst: null, toleranceMs: null },
    pooledCps: undefined,
    pooledSettings: undefined,
    leaseScopes: [trunk, account],
  };
  const take = async (): Promise<LimitResult> => store.take(req);
  return { backend, tracker, store, take, trunk };
}

/** Let promise callbacks run (the backend answers in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('admission through the shared store', () => {
  it('maps the script’s step to the refusal of checks 12, 13, 14; an admitted lease is counted here too', async () => {
    const { backend, tracker, take } = setup();
    backend.steps = [1, 2, 3, 0];
    expect(await take()).toEqual({ ok: false, refused: 'trunk-cps' });
    expect(await take()).toEqual({ ok: false, refused: 'pooled-cps' });
    expect(await take()).toEqual({ ok: false, refused: 'concurrency' });
    const r = await take();
    expect(r.ok).toBe(true);
    expect(tracker.active).toBe(1);
    expect(backend.of('admit')).toEqual([['gw-a/b/1'], ['gw-a/b/2'], ['gw-a/b/3'], ['gw-a/b/4']]);
  });

  it('a release reaches the store once, however often the call releases its lease', async () => {
    const { backend, tracker, take } = setup();
    const r = await take();
    if (!r.ok) throw new Error('refused');
    expect(r.lease.release('bye-caller')).toBe(true);
    expect(r.lease.release('bye-callee')).toBe(false);
    await settle();
    expect(backend.of('release')).toEqual([['gw-a/b/1']]);
    expect(tracker.doubleReleases).toBe(1);
    expect(tracker.active).toBe(0);
  });
});

describe('inbound leases (takeLease: no CPS, the same caps)', () => {
  it('takes a lease without a CPS token; a refusal is a concurrency refusal; the release reaches the store once', async () => {
    const { backend, tracker, store, trunk } = setup();
    backend.steps = [3, 0];
    expect(await store.takeLease([trunk])).toEqual({ ok: false, refused: 'concurrency' });
    const r = await store.takeLease([trunk]);
    if (!r.ok) throw new Error('refused');
    expect(tracker.active).toBe(1);
    expect(backend.of('admit')).toEqual([]);
    expect(backend.of('lease')).toEqual([['gw-a/b/1'], ['gw-a/b/2']]);
    r.lease.release('bye-caller');
    await settle();
    expect(backend.of('release')).toEqual([['gw-a/b/2']]);
  });

  it('follows onStoreFailure: closed refuses while the store is away, open admits and counts it', async () => {
    const closed = setup('closed');
    closed.backend.ready = false;
    expect(await closed.store.takeLease([closed.trunk])).toEqual({ ok: false, refused: 'store-unavailable' });
    const open = setup('open');
    const failedOpen: string[] = [];
    open.store.events.on('failedOpen', (t) => failedOpen.push(t));
    open.backend.failing = true;
    const r = await open.store.takeLease([open.trunk]);
    expect(r.ok).toBe(true);
    expect(failedOpen).toEqual(['acme']);
  });
});

describe('onStoreFailure', () => {
  it('closed: while the store is away, new calls are refused (store-unavailable) without asking it', async () => {
    const { backend, take, store } = setup('closed');
    backend.ready = false;
    expect(await take()).toEqual({ ok: false, refused: 'store-unavailable' });
    expect(backend.of('admit')).toEqual([]);
    expect(store.state()).toMatchObject({ onFailure: 'closed' });
  });

  it('closed: an admission that fails (a timeout) is refused, and the lease it may have added is owed for removal', async () => {
    const { backend, take, store } = setup('closed');
    backend.failing = true;
    const errors: string[] = [];
    store.events.on('operation', (op, _s, err) => err !== undefined && errors.push(op));
    expect(await take()).toEqual({ ok: false, refused: 'store-unavailable' });
    expect(errors).toEqual(['admission']);
    expect(store.owedReleases).toBe(1);
    backend.failing = false;
    await store.tick();
    expect(backend.of('release')).toEqual([['gw-a/b/1']]);
    expect(store.owedReleases).toBe(0);
  });

  it('open: admitted without the store and counted; the lease is registered when the store is back, not removed', async () => {
    const { backend, take, store, tracker } = setup('open');
    const failedOpen: string[] = [];
    store.events.on('failedOpen', (trunk) => failedOpen.push(trunk));
    backend.ready = false;
    const a = await take();
    backend.ready = true;
    backend.failing = true;
    const b = await take(); // a failed round trip: admitted too
    expect(a.ok && b.ok).toBe(true);
    expect(failedOpen).toEqual(['acme', 'acme']);
    expect(tracker.active).toBe(2);
    expect(store.owedReleases).toBe(0);
    backend.failing = false;
    backend.events.emit('ready');
    await settle();
    expect(backend.calls.filter((c) => c.op === 'heartbeat')).toEqual([{ op: 'heartbeat', ids: ['gw-a/b/1', 'gw-a/b/2'], register: true }]);
    expect(store.state().status).toBe('ready');
  });
});

describe('leases over time', () => {
  it('heartbeats every leaseTtlMs/3 while calls are up, then sweeps; none once they ended', async () => {
    const { backend, take, store } = setup();
    await store.start();
    const r = await take();
    vi.advanceTimersByTime(TTL / 3 - 1);
    await settle();
    expect(backend.of('heartbeat')).toEqual([]);
    vi.advanceTimersByTime(1);
    await settle();
    expect(backend.calls.filter((c) => c.op === 'heartbeat')).toEqual([{ op: 'heartbeat', ids: ['gw-a/b/1'], register: false }]);
    expect(backend.of('sweep')).toHaveLength(1);
    if (r.ok) r.lease.release('bye-caller');
    vi.advanceTimersByTime(TTL / 3);
    await settle();
    expect(backend.of('heartbeat')).toHaveLength(1);
    expect(backend.of('sweep')).toHaveLength(2);
    await store.stop();
  });

  it('releases made while the store is away are owed and sent once it is back; live leases are registered again', async () => {
    const { backend, take, store } = setup();
    const a = await take();
    const b = await take();
    backend.ready = false;
    backend.events.emit('unavailable', 'connection closed');
    if (a.ok) a.lease.release('bye-caller');
    expect(backend.of('release')).toEqual([]);
    expect(store.owedReleases).toBe(1);
    backend.ready = true;
    backend.events.emit('ready');
    await settle();
    expect(backend.of('release')).toEqual([['gw-a/b/1']]);
    expect(backend.calls.filter((c) => c.op === 'heartbeat')).toEqual([{ op: 'heartbeat', ids: ['gw-a/b/2'], register: true }]);
    expect(store.owedReleases).toBe(0);
    expect(store.liveLeases).toBe(1);
    if (b.ok) b.lease.release('bye-caller');
  });

  it('expired leases the sweep finds are reported; the status follows the connection', async () => {
    const { backend, store } = setup();
    const statuses: string[] = [];
    const expired: string[][] = [];
    store.events.on('status', (s) => statuses.push(s));
    store.events.on('leasesExpired', (ids) => expired.push(ids));
    backend.events.emit('ready');
    await settle();
    backend.expired = ['gw-b/x/7', 'gw-b/x/7'];
    await store.tick();
    expect(expired).toEqual([['gw-b/x/7', 'gw-b/x/7']]);
    backend.ready = false;
    backend.events.emit('unavailable', 'connection closed');
    expect(store.state()).toEqual({ kind: 'redis', status: 'unavailable', onFailure: 'closed', admitting: false });
    expect(statuses).toEqual(['ready', 'unavailable']);
  });
});
