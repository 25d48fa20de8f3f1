/**
 * The account-type table of SPEC §3: SIP trunking concurrency by account
 * type, for accounts upgraded on or after 2026-02-03. Legacy accounts have no
 * cap unless one is configured; any account may override.
 */

export type AccountTypeName = 'trial' | 'no-pcp' | 'individual-pcp' | 'business-pcp';

/** SIP trunking concurrency by account type (null: unlimited). */
export const TRUNKING_CONCURRENCY: Readonly<Record<AccountTypeName, number | null>> = {
  trial: 4,
  'no-pcp': 2,
  'individual-pcp': 3,
  'business-pcp': null,
};

/** Programmable Voice concurrency by account type (null: unlimited). */
export const VOICE_CONCURRENCY: Readonly<Record<AccountTypeName, number | null>> = {
  trial: 5,
  'no-pcp': 2,
  'individual-pcp': 3,
  'business-pcp': null,
};

export interface AccountLimitInput {
  type: AccountTypeName;
  legacy: boolean;
  /** `limits.trunkingConcurrentCalls`: undefined = not configured; null = explicitly unlimited. */
  trunkingConcurrentCalls: number | null | undefined;
}

/** The account's SIP trunking concurrency cap (null: no cap). */
export function accountTrunkingCap(a: AccountLimitInput): number | null {
  if (a.trunkingConcurrentCalls !== undefined) return a.trunkingConcurrentCalls;
  if (a.legacy) return null;
  return TRUNKING_CONCURRENCY[a.type];
}

/** The default CPS every account type starts with (SPEC §3). */
export const DEFAULT_CPS = 1;
