/**
 * Every Redis key and lease name trunkgate uses, made here and nowhere else,
 * from the scope ids the scope objects build once (CpsScope.id,
 * LeaseScope.id), and cached per scope:
 *
 *   <prefix>:cps:<scope id>:<settings>   a CPS limiter (trunk:acme:us1, account:acme:us1);
 *                                       new settings are a new limiter, as in memory
 *   <prefix>:lease:<scope id>            a lease set (trunk:acme, account:acme)
 *   <prefix>:console                     the Console's CPS settings (hash: scope id → JSON)
 *   <prefix>:console                     (channel) the scope id of a setting that changed
 *
 * A lease is named `<instance>/<boot>/<n>`: the instance that holds it, a
 * random id of the process (a restarted instance never reuses a name), and a
 * counter.
 */
import type { LeaseScope } from '../limits/concurrency.js';
import type { CpsScope } from '../limits/cps-scope.js';
import type { ResolvedCps } from '../limits/rate-limiters.js';

export class RedisKeys {
  readonly console: string;
  readonly consoleChannel: string;
  private readonly leaseSets = new WeakMap<LeaseScope, string>();
  private readonly limiters = new WeakMap<ResolvedCps, string>();

  constructor(readonly prefix: string) {
    this.console = `${prefix}:console`;
    this.consoleChannel = `${prefix}:console`;
  }

  leaseSet(scope: LeaseScope): string {
    let key = this.leaseSets.get(scope);
    if (key === undefined) {
      key = `${this.prefix}:lease:${scope.id}`;
      this.leaseSets.set(scope, key);
    }
    return key;
  }

  /** The limiter of `scope` with these parameters (a CpsScope makes one ResolvedCps per change of settings). */
  limiter(scope: CpsScope, resolved: ResolvedCps): string {
    let key = this.limiters.get(resolved);
    if (key === undefined) {
      key = `${this.prefix}:cps:${scope.id}:${ALGORITHM_CODES[resolved.algorithm]}-${resolved.cps}-${resolved.burst}-${resolved.toleranceMs}`;
      this.limiters.set(resolved, key);
    }
    return key;
  }
}

/** The algorithm's name in the Lua scripts. */
export const ALGORITHM_CODES = { 'token-bucket': 'tb', 'sliding-window': 'sw', 'fixed-window': 'fw' } as const;

export function leaseName(instance: string, boot: string, n: number): string {
  return `${instance}/${boot}/${n}`;
}

/** The instance a lease name (made by `leaseName`) belongs to. */
export function leaseInstance(name: string): string {
  const slash = name.indexOf('/');
  return slash === -1 ? name : name.slice(0, slash);
}
