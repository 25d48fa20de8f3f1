/**
 * The limit store a configuration asks for (limits.store), with what it
 * reports wired to the alert log and the log: memory (the default), or Redis
 * shared by every instance (SPEC §12).
 */
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import { type LimitsConfig, redactedStoreUrl } from '../config/schema.js';
import type { Clock } from '../limits/clock.js';
import type { ConcurrencyTracker, LeaseScope } from '../limits/concurrency.js';
import { type ConsoleSettings, MemoryConsoleSettings } from '../limits/console-settings.js';
import { type LimitStore, MemoryLimitStore } from '../limits/limit-store.js';
import { RedisBackend } from './redis-backend.js';
import { leaseInstance } from './redis-keys.js';
import { SharedConsoleSettings } from './shared-console-settings.js';
import { SharedLimitStore } from './shared-limit-store.js';

export interface LimitStoreParts {
  limits: LimitStoreConfig;
  instance: string;
  tracker: ConcurrencyTracker;
  clock: Clock;
  alerts: AlertLog;
  logger: Logger;
  /** Every configured trunk's and account's lease scope (swept for expired leases). */
  leaseScopes: () => Iterable<LeaseScope>;
}

type LimitStoreConfig = LimitsConfig;

export function createLimitStore(p: LimitStoreParts): { limits: LimitStore; consoleSettings: ConsoleSettings } {
  if (p.limits.store === 'memory') return { limits: new MemoryLimitStore(p.tracker, p.clock), consoleSettings: new MemoryConsoleSettings() };
  const backend = new RedisBackend({ url: p.limits.store, keyPrefix: p.limits.keyPrefix, commandTimeoutMs: p.limits.storeTimeoutMs, instance: p.instance });
  const store = new SharedLimitStore({
    backend,
    tracker: p.tracker,
    instance: p.instance,
    onStoreFailure: p.limits.onStoreFailure,
    leaseTtlMs: p.limits.leaseTtlMs,
    sweepScopes: p.leaseScopes,
  });
  const consoleSettings = new SharedConsoleSettings(backend, (err) => store.events.emit('operation', 'console', 0, err));
  const where = redactedStoreUrl(p.limits.store);
  store.events.on('status', (status) => {
    if (status === 'ready') p.logger.info({ store: where }, 'shared limit store ready');
    else p.logger.warn({ store: where, status, onStoreFailure: p.limits.onStoreFailure }, 'shared limit store unreachable: calls in progress go on');
  });
  store.events.on('failedOpen', (trunk) => {
    p.alerts.raise(99101, { trunk, detail: 'admitted without the shared limits (limits.onStoreFailure: open)' });
  });
  store.events.on('leasesExpired', (leases) => {
    const byInstance = new Map<string, number>();
    for (const lease of leases) {
      const instance = leaseInstance(lease);
      byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
    }
    for (const [instance, n] of byInstance) {
      p.alerts.raise(99102, { detail: `${n} lease(s) of instance ${instance} expired: no heartbeat for ${p.limits.leaseTtlMs} ms (limits.leaseTtlMs); their capacity is free again` });
      p.logger.warn({ instance, leases: n }, 'leases of a stopped instance expired');
    }
  });
  return { limits: store, consoleSettings };
}
