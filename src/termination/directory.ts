/**
 * The configuration compiled for the front door: trunks by name with their
 * account, ACL matcher and limits, and the Request-URI host → (trunk, edge,
 * region) lookup of SPEC §2.1. Built once per (re)load and swapped whole.
 */
import type { AccountConfig, Config, Region, TrunkConfig } from '../config/schema.js';
import { cidrMatcher } from '../config/cidr.js';
import { accountTrunkingCap } from '../limits/account-limits.js';
import type { LeaseScope } from '../limits/concurrency.js';
import { edgeByLabel } from './edges.js';

export interface CompiledTrunk {
  name: string;
  config: TrunkConfig;
  account: AccountConfig;
  /** Undefined when the trunk has no IP ACL. */
  aclAllows: ((address: string) => boolean) | undefined;
  /** Maximum call duration (SPEC §4.4): 4 h, 24 h extended, 10 min trial, or the account's override. */
  maxDurationMs: number;
  /** The scopes a call's lease is taken in: this trunk and its account (made once, shared by every call). */
  leaseScopes: readonly LeaseScope[];
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

export class Directory {
  readonly trunks = new Map<string, CompiledTrunk>();
  readonly accounts = new Map<string, AccountConfig>();
  private readonly accountScopes = new Map<string, LeaseScope>();
  private readonly suffixFirst: string;
  private readonly suffixRest: string;

  constructor(readonly config: Config) {
    for (const a of config.accounts) this.accounts.set(a.name, a);
    for (const t of config.trunks) {
      const account = this.accounts.get(t.account);
      if (account === undefined) throw new Error(`trunk ${t.name}: no account ${t.account}`);
      this.trunks.set(t.name, {
        name: t.name,
        config: t,
        account,
        aclAllows: t.auth.ipAcl.length > 0 ? cidrMatcher(t.auth.ipAcl) : undefined,
        maxDurationMs: maxCallDurationMs(account),
        leaseScopes: [
          { key: `trunk:${t.name}`, cap: t.maxConcurrentCalls },
          this.accountScope(account),
        ],
      });
    }
    const suffix = config.sip.domainSuffix.toLowerCase();
    const dot = suffix.indexOf('.');
    this.suffixFirst = suffix.slice(0, dot);
    this.suffixRest = suffix.slice(dot + 1);
  }

  /** One shared scope per account: the account-type cap of SPEC §3 across all its trunks. */
  private accountScope(account: AccountConfig): LeaseScope {
    let scope = this.accountScopes.get(account.name);
    if (scope === undefined) {
      scope = {
        key: `account:${account.name}`,
        cap: accountTrunkingCap({ type: account.type, legacy: account.legacy, trunkingConcurrentCalls: account.limits.trunkingConcurrentCalls }),
      };
      this.accountScopes.set(account.name, scope);
    }
    return scope;
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
