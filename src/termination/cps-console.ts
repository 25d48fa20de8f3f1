/**
 * The Console's CPS (SPEC §3): the rules for changing a trunk's CPS, and the
 * settings made through the HTTP API. Only an approved Business profile may
 * raise CPS itself, up to `selfServeMaxCps` per trunk per region; anything
 * else needs the provider's sales (`force`). Increases apply at once;
 * decreases may be asked to wait for the 1st of next month.
 */
import type { AlertLog } from '../alerts/alert-log.js';
import type { AccountType, Region } from '../config/schema.js';
import { type Result, errorOf } from '../errors.js';
import type { Clock } from '../limits/clock.js';
import { type ConsoleSettings, type CpsSetting, MemoryConsoleSettings } from '../limits/console-settings.js';
import type { CompiledTrunk } from './directory.js';

export interface CpsChangeRequest {
  accountType: AccountType;
  /** The CPS in force now. */
  current: number;
  requested: number;
  selfServeMaxCps: number;
  /** Set by the provider's staff (sales): skips the account-type rules. */
  force: boolean;
  effective: 'now' | 'next-month';
  /** Now, in ms since the epoch. */
  nowMs: number;
}

export type CpsChangeDecision =
  | { ok: true; effectiveAtMs: number; immediate: boolean }
  /** Refused (the provider's 21251): `why` says the rule and the way out. */
  | { ok: false; code: 21251; why: string };

/** The first instant of next month (UTC). */
export function startOfNextMonthUtc(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function decideCpsChange(r: CpsChangeRequest): CpsChangeDecision {
  const refuse = (why: string): CpsChangeDecision => ({ ok: false, code: 21251, why });
  if (!r.force) {
    if (r.accountType !== 'business-pcp') {
      if (r.requested !== 1) {
        return refuse(`a ${r.accountType} account's CPS stays at 1; raising it needs an approved Business profile (or the provider's sales: "force": true)`);
      }
    } else if (r.requested > r.selfServeMaxCps && r.requested > r.current) {
      return refuse(`self-service raises go up to ${r.selfServeMaxCps} CPS per trunk per region; higher needs the provider's sales ("force": true)`);
    }
  }
  const decrease = r.requested < r.current;
  if (decrease && r.effective === 'next-month') return { ok: true, effectiveAtMs: startOfNextMonthUtc(r.nowMs), immediate: false };
  return { ok: true, effectiveAtMs: r.nowMs, immediate: true };
}

export interface CpsInForce {
  cps: number;
  /** Where it comes from: the configuration file, or the Console. */
  source: 'config' | 'console';
  pending: { cps: number; effectiveAtMs: number } | undefined;
}

export interface CpsChangeBody {
  region: Region;
  cps: number;
  effective?: 'now' | 'next-month' | undefined;
  force?: boolean | undefined;
}

/**
 * The Console's CPS settings (SPEC §3, §7.3): per trunk CPS scope, so they
 * survive reloads (the scopes are handed on) and vanish with the trunk; with
 * a shared store, kept there and mirrored here, so they apply to every
 * instance.
 */
export class CpsConsole {
  constructor(
    private readonly clock: Clock,
    private readonly alerts: AlertLog,
    private readonly settings: ConsoleSettings = new MemoryConsoleSettings(),
  ) {}

  /** The CPS in force for (trunk, region), applying a pending change that has come due. */
  inForce(trunk: CompiledTrunk, region: Region): CpsInForce {
    const scope = trunk.cps.get(region);
    const setting = scope === undefined ? undefined : this.settings.get(scope);
    if (setting === undefined) return { cps: trunk.config.cps[region] ?? trunk.config.cps.default, source: 'config', pending: undefined };
    if (setting.pending !== undefined && setting.pending.effectiveAtMs <= this.clock.now()) {
      setting.cps = setting.pending.cps;
      setting.pending = undefined;
    }
    return { cps: setting.cps, source: 'console', pending: setting.pending };
  }

  /** Whether any trunk has a Console setting in force or pending (tests, views). */
  hasSetting(trunk: CompiledTrunk, region: Region): boolean {
    const scope = trunk.cps.get(region);
    return scope !== undefined && this.settings.get(scope) !== undefined;
  }

  /**
   * Change the CPS as the Console would: refused with 21251 (and its alert) by
   * the account-type rules. With a shared store the change is written there
   * first (a promise; LIMIT_STORE_UNAVAILABLE when it cannot be reached).
   */
  change(trunk: CompiledTrunk, body: CpsChangeBody, selfServeMaxCps: number): Result<CpsInForce> | Promise<Result<CpsInForce>> {
    const scope = trunk.cps.get(body.region);
    if (scope === undefined) throw new Error(`trunk ${trunk.name} has no CPS scope for ${body.region}`);
    const current = this.inForce(trunk, body.region).cps;
    const decision = decideCpsChange({
      accountType: trunk.account.config.type,
      current,
      requested: body.cps,
      selfServeMaxCps,
      force: body.force ?? false,
      effective: body.effective ?? 'now',
      nowMs: this.clock.now(),
    });
    if (!decision.ok) {
      const error = errorOf('CPS_CHANGE_NOT_ALLOWED', decision.why);
      this.alerts.raise(21251, { trunk: trunk.name, detail: error.message });
      return { ok: false, error };
    }
    const next: CpsSetting = decision.immediate ? { cps: body.cps, pending: undefined } : { cps: current, pending: { cps: body.cps, effectiveAtMs: decision.effectiveAtMs } };
    const written = this.settings.set(scope, next);
    if (written === undefined) return { ok: true, value: this.inForce(trunk, body.region) };
    return written.then(
      (): Result<CpsInForce> => ({ ok: true, value: this.inForce(trunk, body.region) }),
      (): Result<CpsInForce> => ({ ok: false, error: errorOf('LIMIT_STORE_UNAVAILABLE', 'the CPS change was not made') }),
    );
  }
}
