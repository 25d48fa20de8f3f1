/**
 * Digest authentication with a ban on online password guessing (issue 12):
 * failed guesses (refusals that used an authentic nonce issued to their
 * source, see digest.ts) are counted per source IP address and per username
 * within `security.digest.failureWindowSeconds`; the one that reaches
 * `maxFailures` bans that source, or that username, for `banSeconds`. While
 * banned, INVITEs from the source, or naming the username, are refused with
 * 403 and alert 32216 without the password being looked at.
 *
 * Ban state lives here, across reloads; the admin API lists and clears it
 * (GET/DELETE /v1/security/bans).
 */
import { EventEmitter } from 'node:events';
import type { AlertLog } from '../alerts/alert-log.js';
import type { SecurityConfig } from '../config/schema.js';
import type { Clock } from '../limits/clock.js';
import { type Ban, type BanPolicy, FailureBans } from '../limits/failure-bans.js';
import type { SipRequest } from '../sip/message/index.js';
import { type Credential, type DigestAuth, parseDigestHeader } from './digest.js';

export const BAN_KINDS = ['source', 'username'] as const;
export type BanKind = (typeof BAN_KINDS)[number];

export type DigestPolicy = SecurityConfig['digest'];

export type AuthVerdict =
  | { ok: true; username: string }
  /** A 407 with these Proxy-Authenticate values (stale: the nonce expired). */
  | { ok: false; kind: 'challenge'; challenges: string[]; stale: boolean }
  /** 403, alert 32202. */
  | { ok: false; kind: 'refused'; why: string }
  /** 403, alert 32216: the source or the username is banned; the password was not checked. */
  | { ok: false; kind: 'banned'; by: BanKind; ban: Ban };

export interface AuthOptions {
  /** The header the credentials are in (default `proxy-authorization`). */
  header?: 'proxy-authorization' | 'authorization';
  /** Challenge again, instead of refusing, when the refusal was no password guess (default false). */
  rechallenge?: boolean;
}

export interface BanView {
  kind: BanKind;
  /** The source IP address, or the username. */
  value: string;
  /** Failures that started it. */
  failures: number;
  since: string;
  until: string;
}

export interface DigestGuardEventMap {
  /** A password guess failed (counted toward the bans). */
  failure: [];
  /** A ban started. */
  banned: [kind: BanKind, ban: Ban];
  /** An INVITE was refused because of a ban. */
  refusedWhileBanned: [kind: BanKind];
}

function policyOf(p: DigestPolicy): BanPolicy {
  return { maxFailures: p.maxFailures, windowMs: p.failureWindowSeconds * 1000, banMs: p.banSeconds * 1000 };
}

export class DigestGuard {
  readonly events = new EventEmitter<DigestGuardEventMap>();
  readonly stats = { failures: 0, bans: { source: 0, username: 0 } as Record<BanKind, number>, refusedWhileBanned: 0 };
  private readonly lists: Record<BanKind, FailureBans> = { source: new FailureBans(), username: new FailureBans() };

  constructor(
    readonly digest: DigestAuth,
    private readonly clock: Clock,
    private readonly alerts: AlertLog,
  ) {}

  /**
   * Check 4 of SPEC §4.2 for a trunk with credentials: the ban first (the
   * source, then the username the header names), then the digest, then the
   * failure count.
   *
   * `options` for clients (client domains): `header` — a registrar reads
   * `Authorization` (the answer to a 401) instead of `Proxy-Authorization`;
   * `rechallenge` — a refusal that is no password guess (a nonce count sent
   * again, a nonce issued elsewhere) gets a fresh challenge instead of 403:
   * SIP.js sends the last request's credentials again, nonce count and all,
   * with its next REGISTER or INVITE.
   */
  authenticate(req: SipRequest, credentials: readonly Credential[], policy: DigestPolicy, trunk?: string, options: AuthOptions = {}): AuthVerdict {
    const header = options.header ?? 'proxy-authorization';
    const now = this.clock.now();
    const source = req.source?.address ?? '';
    const bySource = this.lists.source.banned(source, now);
    if (bySource !== undefined) return this.refuseBanned('source', bySource);
    const authorizations = req.headers.getAll(header);
    if (authorizations.length === 0) return { ok: false, kind: 'challenge', challenges: this.digest.challenges(source, policy.algorithms), stale: false };
    for (const value of authorizations) {
      const username = parseDigestHeader(value)?.['username'];
      const byUser = username === undefined ? undefined : this.lists.username.banned(username, now);
      if (byUser !== undefined) return this.refuseBanned('username', byUser);
    }
    const verdict = this.digest.verify({ authorizations, method: req.method, requestUri: req.uri, source }, credentials, policy);
    if (verdict.ok) return verdict;
    switch (verdict.kind) {
      case 'challenge':
        return { ok: false, kind: 'challenge', challenges: this.digest.challenges(source, policy.algorithms), stale: false };
      case 'stale':
        return { ok: false, kind: 'challenge', challenges: this.digest.challenges(source, policy.algorithms, true), stale: true };
      case 'refused':
        if (verdict.guess !== undefined) this.failed(source, verdict.guess.username, now, policyOf(policy), trunk);
        else if (options.rechallenge === true) return { ok: false, kind: 'challenge', challenges: this.digest.challenges(source, policy.algorithms), stale: false };
        return { ok: false, kind: 'refused', why: verdict.why };
    }
  }

  private refuseBanned(kind: BanKind, ban: Ban): AuthVerdict {
    this.stats.refusedWhileBanned++;
    this.events.emit('refusedWhileBanned', kind);
    return { ok: false, kind: 'banned', by: kind, ban };
  }

  private failed(source: string, username: string, now: number, policy: BanPolicy, trunk: string | undefined): void {
    this.stats.failures++;
    this.events.emit('failure');
    for (const [kind, key] of [
      ['source', source],
      ['username', username],
    ] as const) {
      const outcome = this.lists[kind].fail(key, now, policy);
      if (outcome.banned && outcome.started) {
        this.stats.bans[kind]++;
        this.alerts.raise(32216, {
          trunk,
          detail: `${kind} ${key} banned for ${policy.banMs / 1000} s after ${outcome.ban.failures} failed digest attempts within ${policy.windowMs / 1000} s`,
        });
        this.events.emit('banned', kind, outcome.ban);
      }
    }
  }

  /** Bans in force, sources first. */
  bans(): BanView[] {
    const now = this.clock.now();
    return BAN_KINDS.flatMap((kind) =>
      this.lists[kind].list(now).map((b) => ({
        kind,
        value: b.key,
        failures: b.failures,
        since: new Date(b.sinceMs).toISOString(),
        until: new Date(b.untilMs).toISOString(),
      })),
    );
  }

  /** Bans in force right now, by kind. */
  activeBans(): Record<BanKind, number> {
    const now = this.clock.now();
    return { source: this.lists.source.list(now).length, username: this.lists.username.list(now).length };
  }

  /** Lift one ban (and forget that key's failures). False when it was not banned. */
  clear(kind: BanKind, value: string): boolean {
    return this.lists[kind].clear(value, this.clock.now());
  }

  /** Lift every ban and forget every failure. Returns how many bans were lifted. */
  clearAll(): number {
    const now = this.clock.now();
    return this.lists.source.clearAll(now) + this.lists.username.clearAll(now);
  }
}
