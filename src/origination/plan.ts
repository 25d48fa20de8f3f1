/**
 * The inbound side of the configuration, compiled (SPEC §11): each trunk's
 * origination URIs (parsed once), its disaster-recovery webhook and numbers,
 * and the account numbers with a voice URL — so that a dialled number finds
 * where its call goes with one lookup. Built at load and at each reload, over
 * the termination directory's compiled trunks (their lease scopes are the
 * ones termination calls use: inbound calls count in the same caps).
 */
import type { Config, TrunkConfig } from '../config/schema.js';
import { type OriginationTarget, parseOriginationUri } from '../config/origination-uri.js';
import type { CompiledAccount, CompiledTrunk, Directory } from '../termination/directory.js';
import type { WeightedUri } from './uri-selection.js';

export interface CompiledOriginationUri extends WeightedUri {
  /** As configured: the key of `delivered` in a run's report. */
  uri: string;
  target: OriginationTarget;
}

export interface Webhook {
  url: string;
  method: 'GET' | 'POST';
}

export interface OriginationTrunk {
  trunk: CompiledTrunk;
  uris: readonly CompiledOriginationUri[];
  disasterRecovery: Webhook | undefined;
  /** The trunk's numbers: its origination.numbers and the account numbers that name it. */
  numbers: readonly string[];
  /** The domain of the Diversion URI: the termination domain without its first label (`pstn.twilio.com` → `twilio.com`, as on the wire). */
  diversionDomain: string;
}

/** Where an inbound call to a number goes. */
export type InboundRoute =
  | { kind: 'trunk'; trunk: OriginationTrunk }
  | { kind: 'webhook'; account: CompiledAccount; webhook: Webhook };

export class OriginationPlan {
  readonly trunks = new Map<string, OriginationTrunk>();
  private readonly routes = new Map<string, InboundRoute>();

  constructor(config: Config, directory: Directory) {
    const suffix = config.sip.domainSuffix.toLowerCase();
    const diversionDomain = suffix.slice(suffix.indexOf('.') + 1);
    for (const t of config.trunks) {
      const compiled = directory.trunks.get(t.name);
      if (compiled === undefined) continue;
      const numbers = new Set(t.origination.numbers);
      const account = config.accounts.find((a) => a.name === t.account);
      for (const n of account?.numbers ?? []) if (n.trunk === t.name) numbers.add(n.number);
      const o: OriginationTrunk = { trunk: compiled, uris: compileUris(t), disasterRecovery: disasterRecovery(t), numbers: [...numbers], diversionDomain };
      this.trunks.set(t.name, o);
      for (const n of numbers) this.routes.set(n, { kind: 'trunk', trunk: o });
    }
    for (const a of config.accounts) {
      const account = directory.accounts.get(a.name);
      if (account === undefined) continue;
      for (const n of a.numbers) {
        if (n.voiceUrl !== undefined && !this.routes.has(n.number)) this.routes.set(n.number, { kind: 'webhook', account, webhook: { url: n.voiceUrl, method: n.voiceMethod } });
      }
    }
  }

  /** Where a call to `number` goes, or undefined when no account has that number. */
  route(number: string): InboundRoute | undefined {
    return this.routes.get(number);
  }
}

function compileUris(t: TrunkConfig): CompiledOriginationUri[] {
  const out: CompiledOriginationUri[] = [];
  for (const u of t.origination.uris) {
    const parsed = parseOriginationUri(u.uri);
    if (!parsed.ok) throw new Error(`trunk ${t.name}: origination URI ${u.uri}: ${parsed.reason}`);
    let target = parsed.target;
    // A secure trunk's inbound calls go over TLS whatever the URI says (the provider's docs), to 5061 unless a port is given.
    if (t.secure && target.transport !== 'tls') target = { ...target, transport: 'tls', port: target.portGiven ? target.port : 5061 };
    out.push({ uri: u.uri, priority: u.priority, weight: u.weight, enabled: u.enabled, target });
  }
  return out;
}

function disasterRecovery(t: TrunkConfig): Webhook | undefined {
  const url = t.origination.disasterRecoveryUrl;
  return url === undefined ? undefined : { url, method: t.origination.disasterRecoveryMethod };
}
