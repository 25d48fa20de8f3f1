import { describe, expect, it } from 'vitest';
import {
  type AccountTypeName,
  DEFAULT_CPS,
  TRUNKING_CONCURRENCY,
  VOICE_CONCURRENCY,
  accountTrunkingCap,
} from '../../../src/limits/account-limits.js';

describe('the account-type table (SPEC §3)', () => {
  it.each<[AccountTypeName, number | null, number | null]>([
    ['trial', 5, 4],
    ['no-pcp', 2, 2],
    ['individual-pcp', 3, 3],
    ['business-pcp', null, null],
  ])('%s: Programmable Voice %s, SIP trunking %s (null: unlimited)', (type, voice, trunking) => {
    expect(VOICE_CONCURRENCY[type]).toBe(voice);
    expect(TRUNKING_CONCURRENCY[type]).toBe(trunking);
  });

  it('covers exactly the four account types', () => {
    expect(Object.keys(TRUNKING_CONCURRENCY).sort()).toEqual(['business-pcp', 'individual-pcp', 'no-pcp', 'trial']);
    expect(Object.keys(VOICE_CONCURRENCY).sort()).toEqual(['business-pcp', 'individual-pcp', 'no-pcp', 'trial']);
  });

  it('every account type starts at 1 CPS', () => {
    expect(DEFAULT_CPS).toBe(1);
  });
});

describe('accountTrunkingCap', () => {
  it.each<[AccountTypeName, number | null]>([
    ['trial', 4],
    ['no-pcp', 2],
    ['individual-pcp', 3],
    ['business-pcp', null],
  ])('a %s account upgraded on or after 2026-02-03 is capped at %s', (type, cap) => {
    expect(accountTrunkingCap({ type, legacy: false, trunkingConcurrentCalls: undefined })).toBe(cap);
  });

  it.each<AccountTypeName>(['trial', 'no-pcp', 'individual-pcp', 'business-pcp'])(
    'a legacy %s account has no cap unless configured',
    (type) => {
      expect(accountTrunkingCap({ type, legacy: true, trunkingConcurrentCalls: undefined })).toBeNull();
      expect(accountTrunkingCap({ type, legacy: true, trunkingConcurrentCalls: 7 })).toBe(7);
    },
  );

  it.each<[AccountTypeName, boolean, number | null]>([
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
