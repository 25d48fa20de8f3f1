/**
 * The accounts as the Calls API sees them, compiled from the configuration
 * at load and reload: found by SID, with their credentials (auth token, API
 * keys), their voice concurrency scope (SPEC §3's Programmable Voice column)
 * and their CPS queue. Scopes and queues are handed on across reloads, so
 * queued calls and leases survive a reload; new settings apply at once.
 */
import type { AccountConfig, Config } from '../config/schema.js';
import { accountVoiceCap } from '../limits/account-limits.js';
import { LeaseScope } from '../limits/concurrency.js';
import { generatedAccountSid } from '../termination/directory.js';
import { CallQueue, type QueueSettings } from './call-queue.js';
import type { VoiceCall } from './voice-call.js';

export interface VoiceAccount {
  name: string;
  /** As GET …/Accounts/{sid} spells it (upper-case AC, lower-case hex as configured). */
  sid: string;
  config: AccountConfig;
  /** The account's Programmable Voice concurrency: API calls (and, later, inbound calls) take a lease here. */
  leaseScope: LeaseScope;
  queue: CallQueue<VoiceCall>;
}

export function queueSettings(account: AccountConfig, config: Config): QueueSettings {
  // the queue paces calls itself, with no arrival jitter to forgive: no tolerance
  return { algorithm: config.cps.algorithm, cps: account.voiceCps, burst: null, toleranceMs: 0, maxWaitMs: config.voice.queueMaxWaitSeconds * 1000 };
}

export class VoiceAccounts {
  /** By lower-case SID. */
  readonly bySid = new Map<string, VoiceAccount>();
  readonly byName = new Map<string, VoiceAccount>();
  /** API key SID (lower-case) → its account and secret. */
  readonly apiKeys = new Map<string, { account: VoiceAccount; secret: string }>();

  constructor(
    readonly config: Config,
    previous?: VoiceAccounts,
  ) {
    for (const a of config.accounts) {
      const before = previous?.byName.get(a.name);
      const cap = accountVoiceCap({ type: a.type, legacy: a.legacy, voiceConcurrentCalls: a.limits.voiceConcurrentCalls });
      const leaseScope = before?.leaseScope ?? new LeaseScope('account', a.name, cap);
      leaseScope.cap = cap;
      const settings = queueSettings(a, config);
      const queue = before?.queue ?? new CallQueue<VoiceCall>(a.name, settings);
      queue.settings = settings;
      const account: VoiceAccount = { name: a.name, sid: a.sid ?? generatedAccountSid(a.name), config: a, leaseScope, queue };
      this.bySid.set(account.sid.toLowerCase(), account);
      this.byName.set(a.name, account);
      for (const key of a.apiKeys) this.apiKeys.set(key.sid.toLowerCase(), { account, secret: key.secret });
    }
    // An account a reload removed keeps its queue and scope while it has calls (they finish under the last settings).
    if (previous !== undefined) {
      for (const old of previous.byName.values()) {
        if (this.byName.has(old.name)) continue;
        if (old.queue.depth > 0 || old.leaseScope.active > 0) this.orphans.push(old);
      }
      for (const old of previous.orphans) if (!this.byName.has(old.name) && (old.queue.depth > 0 || old.leaseScope.active > 0)) this.orphans.push(old);
    }
  }

  /** Accounts a reload removed that still have queued or live calls. */
  readonly orphans: VoiceAccount[] = [];

  get(sid: string): VoiceAccount | undefined {
    return this.bySid.get(sid.toLowerCase());
  }

  /** Every account with a queue: configured ones and orphans. */
  all(): VoiceAccount[] {
    return [...this.byName.values(), ...this.orphans];
  }
}
