/**
 * The configuration compiled for the front door: trunks by name with their
 * account, ACL matcher, route, CPS and lease scopes, and the Request-URI host
 * → (trunk, edge, region) lookup of SPEC §2.1. Built once per (re)load and
 * swapped whole; the scopes (the limit state) are handed on from the
 * previous compilation, so a reload changes limits, not counts.
 */
import { createHash } from 'node:crypto';
import type { AccountConfig, Config, Region, TrunkConfig } from '../config/schema.js';
import { REGIONS } from '../config/schema.js';
import { cidrMatcher } from '../config/cidr.js';
import { type Route, parseRoute } from '../config/route.js';
import { accountTrunkingCap } from '../limits/account-limits.js';
import { LeaseScope } from '../limits/concurrency.js';
import { CpsScope, type CpsSettings } from '../limits/cps-scope.js';
import { edgeByLabel } from './edges.js';
import { TransferPolicy } from './transfer-policy.js';

export interface CompiledAccount {
  name: string;
  config: AccountConfig;
  /** The configured SID, or one made from the name (SPEC §7.2: "generated if absent"). */
  sid: string;
  /** The account-type concurrency cap of SPEC §3 across all its trunks. */
  leaseScope: LeaseScope;
  /** Pooled CPS scopes (SPEC §3), for the regions the account pools. */
  pooledCps: ReadonlyMap<Region, CpsScope>;
}

export interface CompiledTrunk {
  name: string;
  config: TrunkConfig;
  account: CompiledAccount;
  /** Undefined when the trunk has no IP ACL. */
  aclAllows: ((address: string) => boolean) | undefined;
  route: Route;
  /** Maximum call duration (SPEC §4.4): 4 h, 24 h extended, 10 min trial, or the account's override. */
  maxDurationMs: number;
  /** This trunk's own concurrency scope (cap: `maxConcurrentCalls`). */
  leaseScope: LeaseScope;
  /** The scopes a call's lease is taken in: this trunk and its account (shared by every call). */
  leaseScopes: readonly LeaseScope[];
  /** CPS scopes, one per region. */
  cps: ReadonlyMap<Region, CpsScope>;
  /** Whether and where the trunk takes transfers (REFER), SPEC §9. */
  transfer: TransferPolicy;
}

export interface TrunkMatch {
  trunk: CompiledTrunk;
  /** The edge named in the URI, if any. */
  edge: string | undefined;
  /** CPS accounting region. */
  region: Region;
}

export function maxCallDurationMs(account: AccountConfig): number {
  const override = account.limits.maxCallDurationSeconds;
  if (override !== undefined) return Math.round(override * 1000);
  if (account.type === 'trial') return 10 * 60 * 1000;
  return (account.extendedCallDuration ? 24 : 4) * 60 * 60 * 1000;
}

/** The limiter settings of a trunk's CPS scope, for the CPS in force (the file's or the Console's). */
export function trunkCpsSettings(config: Config, trunk: CompiledTrunk, cps: number): CpsSettings {
  return { algorithm: config.cps.algorithm, cps, burst: trunk.config.burst, toleranceMs: config.cps.toleranceMs };
}

/** The limiter settings of an account's pooled CPS scope. */
export function pooledCpsSettings(config: Config, cps: number): CpsSettings {
  return { algorithm: config.cps.algorithm, cps, burst: null, toleranceMs: config.cps.toleranceMs };
}

/** An account's SID when the config gives none: stable across restarts. */
export function generatedAccountSid(name: string): string {
  return 'AC' + createHash('md5').update(`trunkgate account ${name}`).digest('hex');
}

export class Directory {
  readonly trunks = new Map<string, CompiledTrunk>();
  readonly accounts = new Map<string, CompiledAccount>();
  private readonly suffixFirst: string;
  private readonly suffixRest: string;

  /** Compile `config`; scopes of trunks and accounts that `previous` had too are handed on. */
  constructor(
    readonly config: Config,
    previous?: Directory,
  ) {
    for (const a of config.accounts) this.accounts.set(a.name, compileAccount(a, previous?.accounts.get(a.name)));
    for (const t of config.trunks) {
      const account = this.accounts.get(t.account);
      if (account === undefined) throw new Error(`trunk ${t.name}: no account ${t.account}`);
      const routed = parseRoute(t.route);
      if (!routed.ok) throw new Error(`trunk ${t.name}: ${routed.reason}`);
      const before = previous?.trunks.get(t.name);
      const leaseScope = before?.leaseScope ?? new LeaseScope('trunk', t.name, null);
      leaseScope.cap = t.maxConcurrentCalls;
      this.trunks.set(t.name, {
        name: t.name,
        config: t,
        account,
        aclAllows: t.auth.ipAcl.length > 0 ? cidrMatcher(t.auth.ipAcl) : undefined,
        route: routed.route,
        maxDurationMs: maxCallDurationMs(account.config),
        leaseScope,
        leaseScopes: [leaseScope, account.leaseScope],
        cps: before?.cps ?? new Map(REGIONS.map((r) => [r, new CpsScope('trunk', t.name, r)])),
        transfer: new TransferPolicy(t.transferMode, t.transferCallerId, config.sip.domainSuffix),
      });
    }
    const suffix = config.sip.domainSuffix.toLowerCase();
    const dot = suffix.indexOf('.');
    this.suffixFirst = suffix.slice(0, dot);
    this.suffixRest = suffix.slice(dot + 1);
  }

  /** Every configured trunk's and account's lease scope. */
  *leaseScopes(): IterableIterator<LeaseScope> {
    for (const t of this.trunks.values()) yield t.leaseScope;
    for (const a of this.accounts.values()) yield a.leaseScope;
  }

  /**
   * The trunk, edge and region a Request-URI host names (SPEC §2.1):
   * `<trunk>.pstn.twilio.com` (the trunk's home region),
   * `<trunk>.pstn.<edge>.twilio.com` (an edge, a legacy id, or `<edge>-ix`).
   */
  match(host: string): TrunkMatch | undefined {
    const h = host.toLowerCase().replace(/\.$/, '');
    const dot = h.indexOf('.');
    if (dot <= 0) return this.fallback();
    const trunk = this.trunks.get(h.slice(0, dot));
    const rest = h.slice(dot + 1);
    if (trunk !== undefined) {
      if (rest === `${this.suffixFirst}.${this.suffixRest}`) return { trunk, edge: undefined, region: trunk.config.region };
      const prefix = `${this.suffixFirst}.`;
      const tail = `.${this.suffixRest}`;
      if (rest.startsWith(prefix) && rest.endsWith(tail)) {
        const label = rest.slice(prefix.length, rest.length - tail.length);
        const edge = label.indexOf('.') === -1 ? edgeByLabel(label) : undefined;
        if (edge !== undefined) return { trunk, edge: edge.edge, region: edge.region };
      }
    }
    return this.fallback();
  }

  /** `sip.fallbackTrunk`: an extension for URIs that name no trunk (e.g. SIPp's built-in scenarios use the IP). */
  private fallback(): TrunkMatch | undefined {
    const name = this.config.sip.fallbackTrunk;
    if (name === null) return undefined;
    const trunk = this.trunks.get(name);
    if (trunk === undefined) return undefined;
    return { trunk, edge: undefined, region: trunk.config.region };
  }
}

function compileAccount(a: AccountConfig, before: CompiledAccount | undefined): CompiledAccount {
  const leaseScope = before?.leaseScope ?? new LeaseScope('account', a.name, null);
  leaseScope.cap = accountTrunkingCap({ type: a.type, legacy: a.legacy, trunkingConcurrentCalls: a.limits.trunkingConcurrentCalls });
  const pooledCps = new Map<Region, CpsScope>();
  for (const region of REGIONS) {
    if (a.pooledCps?.[region] === undefined) continue;
    pooledCps.set(region, before?.pooledCps.get(region) ?? new CpsScope('account', a.name, region));
  }
  return { name: a.name, config: a, sid: a.sid ?? generatedAccountSid(a.name), leaseScope, pooledCps };
}
