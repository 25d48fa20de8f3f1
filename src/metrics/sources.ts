/**
 * The point-in-time values the metrics read when scraped, from the gateway's
 * parts: active calls and limits per trunk (from the compiled configuration
 * and its scopes), live transactions, double releases, alerts, digest bans.
 */
import type { AlertLog } from '../alerts/alert-log.js';
import { REGIONS } from '../config/schema.js';
import type { ConcurrencyTracker } from '../limits/concurrency.js';
import type { LimitStore } from '../limits/limit-store.js';
import type { TransactionLayer } from '../sip/transaction/index.js';
import type { CpsConsole } from '../termination/cps-console.js';
import type { DigestGuard } from '../termination/digest-guard.js';
import type { Directory } from '../termination/directory.js';
import type { FrontDoor } from '../termination/front-door.js';
import type { MetricsSources } from './metrics.js';

export interface SourceParts {
  /** The compiled configuration in force (swapped on reload). */
  directory(): Directory;
  cpsConsole: CpsConsole;
  tracker: ConcurrencyTracker;
  frontDoor: FrontDoor;
  transactions: TransactionLayer;
  alerts: AlertLog;
  auth: DigestGuard;
  limits: LimitStore;
}

export function metricsSources(p: SourceParts): MetricsSources {
  return {
    activeCalls: () => {
      // configured trunks, plus any a reload removed that still have calls
      const out = new Map<string, number>();
      for (const t of p.directory().trunks.values()) out.set(t.name, t.leaseScope.active);
      for (const scope of p.tracker.busyScopes()) if (scope.kind === 'trunk' && !out.has(scope.name)) out.set(scope.name, scope.active);
      return [...out].map(([trunk, active]) => ({ trunk, active }));
    },
    cpsLimits: () => [...p.directory().trunks.values()].flatMap((t) => REGIONS.map((region) => ({ trunk: t.name, region, cps: p.cpsConsole.inForce(t, region).cps }))),
    concurrencyLimits: () =>
      [...p.directory().trunks.values()].map((t) => {
        const caps = t.leaseScopes.map((scope) => scope.cap).filter((c): c is number => c !== null);
        return { trunk: t.name, cap: caps.length === 0 ? null : Math.min(...caps) };
      }),
    doubleReleases: () => p.tracker.doubleReleases,
    droppedInvites: () => p.frontDoor.stats.dropped,
    transactions: () => p.transactions.size,
    transactionStats: () => p.transactions.stats,
    alertCounts: () => p.alerts.counts,
    digestBans: () => ({ failures: p.auth.stats.failures, started: p.auth.stats.bans, active: p.auth.activeBans() }),
    limitStoreUp: () => p.limits.state().status === 'ready',
    trunkNames: () => p.directory().trunks.keys(),
  };
}
