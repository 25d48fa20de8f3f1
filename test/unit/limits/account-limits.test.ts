import { describe, expect, it } from 'vitest';
import { ACCOUNT_TYPES, type AccountType, TRUNKING_CONCURRENCY, accountTrunkingCap } from '../../../src/limits/account-limits.js';

describe('the account-type table (SPEC §3)', () => {
  it('gives SIP trunking caps for exactly the four account types the config takes', () => {
    expect(Object.keys(TRUNKING_CONCURRENCY).sort()).toEqual([...ACCOUNT_TYPES].sort());
  });
});

describe('accountTrunkingCap', () => {
  it.each<[AccountType, number | null]>([
    ['trial', 4],
    ['no-pcp', 2],
    ['individual-pcp', 3],
    ['business-pcp', null],
  ])('a %s account upgraded on or after 2026-02-03 is capped at %s', (type, cap) => {
    expect(accountTrunkingCap({ type, legacy: false, trunkingConcurrentCalls: undefined })).toBe(cap);
  });

  it.each<AccountType>(['trial', 'no-pcp', 'individual-pcp', 'business-pcp'])(
    'a legacy %s account has no cap unless configured',
    (type) => {
      expect(accountTrunkingCap({ type, legacy: true, trunkingConcurrentCalls: undefined })).toBeNull();
      expect(accountTrunkingCap({ type, legacy: true, trunkingConcurrentCalls: 7 })).toBe(7);
    },
  );

  it.each<[AccountType, boolean, number | null]>([
    ['trial', false, 10],
    ['no-pcp', false, 0],
    ['individual-pcp', true, 1],
    ['business-pcp', false, 25],
    // null is an explicit "unlimited": it lifts the type's cap.
    ['trial', false, null],
    ['no-pcp', false, null],
    ['individual-pcp', true, null],
  ])('an override wins: %s (legacy %s) with trunkingConcurrentCalls %s', (type, legacy, override) => {
    expect(accountTrunkingCap({ type, legacy, trunkingConcurrentCalls: override })).toBe(override);
  });
});
