/**
 * The account-type table of SPEC §3: SIP trunking concurrency by account
 * type, for accounts upgraded on or after 2026-02-03. Legacy accounts have no
 * cap unless one is configured; any account may override.
 */

/** The account types (SPEC §3): the one definition the config schema and the limits share. */
export const ACCOUNT_TYPES = ['trial', 'no-pcp', 'individual-pcp', 'business-pcp'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** SIP trunking concurrency by account type (null: unlimited). */
export const TRUNKING_CONCURRENCY: Readonly<Record<AccountType, number | null>> = {
  trial: 4,
  'no-pcp': 2,
  'individual-pcp': 3,
  'business-pcp': null,
};

export interface AccountLimitInput {
  type: AccountType;
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

/** Programmable Voice concurrency by account type (SPEC §3; null: unlimited). */
export const VOICE_CONCURRENCY: Readonly<Record<AccountType, number | null>> = {
  trial: 5,
  'no-pcp': 2,
  'individual-pcp': 3,
  'business-pcp': null,
};

/** The account's Programmable Voice concurrency cap (null: no cap); inbound and outbound calls count alike. */
export function accountVoiceCap(a: { type: AccountType; legacy: boolean; voiceConcurrentCalls: number | null | undefined }): number | null {
  if (a.voiceConcurrentCalls !== undefined) return a.voiceConcurrentCalls;
  if (a.legacy) return null;
  return VOICE_CONCURRENCY[a.type];
}
