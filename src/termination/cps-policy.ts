/**
 * The Console's rules for changing a trunk's CPS (SPEC §3): only an approved
 * Business profile may raise CPS itself, up to `selfServeMaxCps` per trunk per
 * region; anything else needs the provider's sales (`force`). Increases apply
 * at once; decreases may be asked to wait for the 1st of next month.
 */
import type { AccountType } from '../config/schema.js';

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
  | { ok: false; code: 21251; message: string };

/** The first instant of next month (UTC). */
export function startOfNextMonthUtc(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function decideCpsChange(r: CpsChangeRequest): CpsChangeDecision {
  const refuse = (why: string): CpsChangeDecision => ({ ok: false, code: 21251, message: `Trunking CPS change not allowed: ${why}` });
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
