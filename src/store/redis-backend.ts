/**
 * The Redis side of the shared limit store: one ioredis connection that runs
 * the Lua scripts of lua.ts (EVALSHA, loaded on first use), and one that
 * listens for Console changes. It keeps no limit state of its own and makes
 * no decisions about failures: SharedLimitStore does.
 *
 * ioredis (see docs/running-several-instances.md for why): commands fail at
 * once while the connection is down (no offline queue, no retries of
 * commands in flight), so a call is never held waiting for a reconnect; the
 * connection itself is retried with a capped backoff; `rediss://` is TLS.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Clock } from '../limits/clock.js';
import type { LeaseScope } from '../limits/concurrency.js';
import type { ResolvedCps } from '../limits/rate-limiters.js';
import type { CpsScope } from '../limits/cps-scope.js';
import { ADMIT, HEARTBEAT, LEASE, PEEK, RELEASE, SWEEP } from './lua.js';
import { ALGORITHM_CODES, RedisKeys } from './redis-keys.js';

export interface LimiterRef {
  scope: CpsScope;
  resolved: ResolvedCps;
}

/** 0 admitted; 1 refused by the trunk's CPS; 2 by the pooled CPS; 3 by a concurrency cap. */
export type AdmitStep = 0 | 1 | 2 | 3;

export interface BackendEventMap {
  /** Connected (again) and usable. */
  ready: [];
  /** The connection was lost (or could not be made). */
  unavailable: [reason: string];
  /** A Console setting changed (by any instance): its JSON, or undefined when removed. */
  consoleChanged: [scopeId: string, json: string | undefined];
}

/** What the store-independent logic (SharedLimitStore) needs from a shared store. */
export interface SharedLimitsBackend {
  readonly ready: boolean;
  readonly events: EventEmitter<BackendEventMap>;
  /** Start connecting; resolves once ready, or after `waitMs` (it keeps trying). */
  connect(waitMs: number): Promise<void>;
  close(): Promise<void>;
  admit(trunk: LimiterRef, pooled: LimiterRef | undefined, leases: readonly LeaseScope[], leaseId: string, leaseTtlMs: number): Promise<{ step: AdmitStep; expired: string[] }>;
  /** A lease alone (no CPS): step 0 taken, 3 refused by a cap. */
  lease(leases: readonly LeaseScope[], leaseId: string, leaseTtlMs: number): Promise<{ step: 0 | 3; expired: string[] }>;
  /** Remove a lease from its sets; how many held it (0: it had expired, or was never added). */
  release(leaseId: string, scopes: readonly LeaseScope[]): Promise<number>;
  /** Extend live leases (register: add them back, after a reconnect); how many were extended or added. */
  heartbeat(leases: ReadonlyArray<{ id: string; scopes: readonly LeaseScope[] }>, ttlMs: number, register: boolean): Promise<number>;
  /** Remove and return the expired leases of these scopes. */
  sweep(scopes: readonly LeaseScope[]): Promise<string[]>;
  peek(limiters: readonly LimiterRef[], leases: readonly LeaseScope[]): Promise<{ available: Array<number | null>; active: number[] }>;
  consoleReadAll(): Promise<Map<string, string>>;
  consoleWrite(scopeId: string, json: string): Promise<void>;
  /** Write these settings where the store has none (it lost them: a restart without persistence). */
  consoleRestore(entries: ReadonlyMap<string, string>): Promise<void>;
}

export interface RedisBackendOptions {
  url: string;
  keyPrefix: string;
  /** How long a command may take before it fails. */
  commandTimeoutMs: number;
  /** The instance's name (the connection's CLIENT SETNAME). */
  instance: string;
  /** Tests: the time the scripts use. Default: the Redis server's clock, the same for every instance. */
  clock?: Clock;
}

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

const SCRIPTS = {
  admit: new Script(ADMIT),
  lease: new Script(LEASE),
  release: new Script(RELEASE),
  heartbeat: new Script(HEARTBEAT),
  sweep: new Script(SWEEP),
  peek: new Script(PEEK),
};

function limiterArgs(r: ResolvedCps, out: Array<string | number>): void {
  out.push(ALGORITHM_CODES[r.algorithm], String(r.cps), String(r.burst), String(r.toleranceMs), String(r.windowMs));
}

export class RedisBackend implements SharedLimitsBackend {
  readonly events = new EventEmitter<BackendEventMap>();
  readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private closed = false;

  constructor(private readonly options: RedisBackendOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: true,
      connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
      connectionName: `trunkgate-${options.instance}`,
    };
    this.redis = new Redis(options.url, { ...common, commandTimeout: options.commandTimeoutMs });
    // The subscriber may wait for messages forever: no command timeout there.
    this.subscriber = new Redis(options.url, { ...common, enableAutoPipelining: false, connectionName: `trunkgate-${options.instance}-console` });
    this.redis.on('ready', () => {
      // Load every script before anything else is sent on this connection (a new one, or a Redis that
      // restarted and lost them): an EVALSHA that met NOSCRIPT would be sent again as EVAL after
      // commands issued later, and a release could then land after the admission that followed it.
      for (const script of Object.values(SCRIPTS)) this.redis.script('LOAD', script.lua).catch(() => undefined);
      this.events.emit('ready');
    });
    this.redis.on('close', () => {
      if (!this.closed) this.events.emit('unavailable', 'connection closed');
    });
    // ioredis reports connection errors here (and retries by itself): without a listener they would be thrown.
    this.redis.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, scopeId: string) => {
      this.redis.hget(this.keys.console, scopeId).then(
        (json) => this.events.emit('consoleChanged', scopeId, json ?? undefined),
        () => undefined, // missed: the next reconnect reads every setting again
      );
    });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.keys.consoleChannel).catch(() => undefined);
    });
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  async connect(waitMs: number): Promise<void> {
    this.redis.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    if (this.ready) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.events.once('ready', done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.redis.quit().catch(() => this.redis.disconnect()), this.subscriber.quit().catch(() => this.subscriber.disconnect())]);
  }

  private now(): string {
    return this.options.clock === undefined ? '' : String(this.options.clock.now());
  }

  /** EVALSHA (the scripts are loaded on connect), and EVAL if the server lost them meanwhile (SCRIPT FLUSH). */
  private async run(script: Script, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.redis.eval(script.lua, keys.length, ...keys, ...args);
    }
  }

  async admit(trunk: LimiterRef, pooled: LimiterRef | undefined, leases: readonly LeaseScope[], leaseId: string, leaseTtlMs: number): Promise<{ step: AdmitStep; expired: string[] }> {
    const keys = [this.keys.limiter(trunk.scope, trunk.resolved)];
    const args: Array<string | number> = [this.now(), leaseId, leaseTtlMs, pooled === undefined ? '0' : '1'];
    limiterArgs(trunk.resolved, args);
    if (pooled !== undefined) {
      keys.push(this.keys.limiter(pooled.scope, pooled.resolved));
      limiterArgs(pooled.resolved, args);
    }
    for (const scope of leases) {
      keys.push(this.keys.leaseSet(scope));
      args.push(scope.cap === null ? '' : String(scope.cap));
    }
    const reply = (await this.run(SCRIPTS.admit, keys, args)) as [number, ...string[]];
    return { step: reply[0] as AdmitStep, expired: reply.slice(1) as string[] };
  }

  async lease(leases: readonly LeaseScope[], leaseId: string, leaseTtlMs: number): Promise<{ step: 0 | 3; expired: string[] }> {
    const keys = leases.map((s) => this.keys.leaseSet(s));
    const args: Array<string | number> = [this.now(), leaseId, leaseTtlMs, ...leases.map((s) => (s.cap === null ? '' : String(s.cap)))];
    const reply = (await this.run(SCRIPTS.lease, keys, args)) as [number, ...string[]];
    return { step: reply[0] === 0 ? 0 : 3, expired: reply.slice(1) as string[] };
  }

  async release(leaseId: string, scopes: readonly LeaseScope[]): Promise<number> {
    return (await this.run(
      SCRIPTS.release,
      scopes.map((s) => this.keys.leaseSet(s)),
      [leaseId],
    )) as number;
  }

  async heartbeat(leases: ReadonlyArray<{ id: string; scopes: readonly LeaseScope[] }>, ttlMs: number, register: boolean): Promise<number> {
    const byKey = new Map<string, string[]>();
    for (const lease of leases) {
      for (const scope of lease.scopes) {
        const key = this.keys.leaseSet(scope);
        let ids = byKey.get(key);
        if (ids === undefined) byKey.set(key, (ids = []));
        ids.push(lease.id);
      }
    }
    if (byKey.size === 0) return 0;
    const args: Array<string | number> = [this.now(), ttlMs, register ? '1' : '0'];
    for (const ids of byKey.values()) args.push(ids.length, ...ids);
    return (await this.run(SCRIPTS.heartbeat, [...byKey.keys()], args)) as number;
  }

  async sweep(scopes: readonly LeaseScope[]): Promise<string[]> {
    if (scopes.length === 0) return [];
    return (await this.run(
      SCRIPTS.sweep,
      scopes.map((s) => this.keys.leaseSet(s)),
      [this.now()],
    )) as string[];
  }

  async peek(limiters: readonly LimiterRef[], leases: readonly LeaseScope[]): Promise<{ available: Array<number | null>; active: number[] }> {
    const keys = [...limiters.map((l) => this.keys.limiter(l.scope, l.resolved)), ...leases.map((s) => this.keys.leaseSet(s))];
    const args: Array<string | number> = [this.now(), limiters.length];
    for (const l of limiters) limiterArgs(l.resolved, args);
    const reply = (await this.run(SCRIPTS.peek, keys, args)) as Array<string | null | number>;
    return {
      available: reply.slice(0, limiters.length).map((v) => (typeof v === 'string' ? Number(v) : null)),
      active: reply.slice(limiters.length).map(Number),
    };
  }

  async consoleReadAll(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.console)));
  }

  async consoleWrite(scopeId: string, json: string): Promise<void> {
    await this.redis.multi().hset(this.keys.console, scopeId, json).publish(this.keys.consoleChannel, scopeId).exec();
  }

  async consoleRestore(entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const multi = this.redis.multi();
    for (const [scopeId, json] of entries) multi.hsetnx(this.keys.console, scopeId, json);
    await multi.exec();
  }
}
