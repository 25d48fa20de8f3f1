/**
 * The Console's CPS rules (SPEC §3): who may change a trunk's CPS, up to what,
 * and when the change takes effect.
 */
import { describe, expect, it } from 'vitest';
import { AlertLog } from '../../../src/alerts/alert-log.js';
import { validateConfig } from '../../../src/config/load.js';
import type { AccountType } from '../../../src/config/schema.js';
import { ManualClock } from '../../../src/limits/clock.js';
import { type CpsChangeRequest, CpsConsole, decideCpsChange, startOfNextMonthUtc } from '../../../src/termination/cps-console.js';
import { type CompiledTrunk, Directory } from '../../../src/termination/directory.js';

const NOW = Date.UTC(2026, 10, 27, 10, 30, 0); // 2026-11-27T10:30:00Z
const NEXT_MONTH = Date.UTC(2026, 11, 1); // 2026-12-01T00:00:00Z

function request(patch: Partial<CpsChangeRequest>): CpsChangeRequest {
  return {
    accountType: 'business-pcp',
    current: 1,
    requested: 1,
    selfServeMaxCps: 5,
    force: false,
    effective: 'now',
    nowMs: NOW,
    ...patch,
  };
}

type Row = [string, Partial<CpsChangeRequest>];

describe('decideCpsChange: who may change CPS', () => {
  const allowed: Row[] = [
    ['business raises 1 → 2', { current: 1, requested: 2 }],
    ['business raises 1 → 5 (selfServeMaxCps)', { current: 1, requested: 5 }],
    ['business raises 1 → 2.5 (fractional)', { current: 1, requested: 2.5 }],
    ['business raises 1 → 15 with the older docs’ selfServeMaxCps 15', { current: 1, requested: 15, selfServeMaxCps: 15 }],
    ['business raises 1 → 50 with force (the provider’s sales)', { current: 1, requested: 50, force: true }],
    ['business lowers 50 → 8 (set by sales earlier): a decrease is always allowed', { current: 50, requested: 8 }],
    ['business keeps 5 → 5', { current: 5, requested: 5 }],
    ['trial stays at 1', { accountType: 'trial', current: 1, requested: 1 }],
    ['no-pcp stays at 1', { accountType: 'no-pcp', current: 1, requested: 1 }],
    ['individual-pcp stays at 1', { accountType: 'individual-pcp', current: 1, requested: 1 }],
    ['trial back to 1 from 3 (set by sales)', { accountType: 'trial', current: 3, requested: 1 }],
    ['trial 1 → 2 with force', { accountType: 'trial', current: 1, requested: 2, force: true }],
    ['no-pcp 1 → 10 with force', { accountType: 'no-pcp', current: 1, requested: 10, force: true }],
    ['individual-pcp 1 → 3 with force', { accountType: 'individual-pcp', current: 1, requested: 3, force: true }],
  ];
  it.each(allowed)('allowed: %s, at once', (_name, patch) => {
    expect(decideCpsChange(request(patch))).toEqual({ ok: true, immediate: true, effectiveAtMs: NOW });
  });

  const refused: Row[] = [
    ['business raises 1 → 6 (above selfServeMaxCps 5)', { current: 1, requested: 6 }],
    ['business raises 1 → 5.5 (just above)', { current: 1, requested: 5.5 }],
    ['business raises 1 → 50', { current: 1, requested: 50 }],
    ['business raises 5 → 16 with selfServeMaxCps 15', { current: 5, requested: 16, selfServeMaxCps: 15 }],
    ['business raises 1 → 6 asking for next month', { current: 1, requested: 6, effective: 'next-month' }],
    ['trial 1 → 2', { accountType: 'trial', current: 1, requested: 2 }],
    ['trial 1 → 0.5 (not 1, even lower)', { accountType: 'trial', current: 1, requested: 0.5 }],
    ['no-pcp 1 → 2', { accountType: 'no-pcp', current: 1, requested: 2 }],
    ['no-pcp 1 → 5 (what a business may)', { accountType: 'no-pcp', current: 1, requested: 5 }],
    ['individual-pcp 1 → 2', { accountType: 'individual-pcp', current: 1, requested: 2 }],
    ['individual-pcp 3 → 2 (set by sales; only 1 is self-serve)', { accountType: 'individual-pcp', current: 3, requested: 2 }],
  ];
  it.each(refused)('refused with 21251: %s', (_name, patch) => {
    const d = decideCpsChange(request(patch));
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.code).toBe(21251);
    // the reason says the way out
    expect(d.why).toContain('"force": true');
  });

  it.each(['trial', 'no-pcp', 'individual-pcp'] as AccountType[])(
    'the refusal of a %s account names the account type and the Business profile',
    (accountType) => {
      const d = decideCpsChange(request({ accountType, requested: 2 }));
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.why).toContain(`a ${accountType} account's CPS stays at 1`);
    },
  );

  it('the refusal of a business account above the bound names the bound', () => {
    const d = decideCpsChange(request({ requested: 9, selfServeMaxCps: 7 }));
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.why).toContain('up to 7 CPS');
  });
});

describe('decideCpsChange: when a change takes effect', () => {
  const rows: Array<[string, Partial<CpsChangeRequest>, { immediate: boolean; effectiveAtMs: number }]> = [
    [
      'decrease 5 → 2, next-month: the 1st of next month UTC',
      { current: 5, requested: 2, effective: 'next-month' },
      { immediate: false, effectiveAtMs: NEXT_MONTH },
    ],
    ['decrease 5 → 2, now: at once', { current: 5, requested: 2, effective: 'now' }, { immediate: true, effectiveAtMs: NOW }],
    [
      'increase 1 → 5, next-month: increases apply at once',
      { current: 1, requested: 5, effective: 'next-month' },
      { immediate: true, effectiveAtMs: NOW },
    ],
    [
      'no change 3 → 3, next-month: at once',
      { current: 3, requested: 3, effective: 'next-month' },
      { immediate: true, effectiveAtMs: NOW },
    ],
    [
      'forced decrease 50 → 10, next-month',
      { current: 50, requested: 10, effective: 'next-month', force: true },
      { immediate: false, effectiveAtMs: NEXT_MONTH },
    ],
    [
      'trial back to 1 from 3, next-month',
      { accountType: 'trial', current: 3, requested: 1, effective: 'next-month' },
      { immediate: false, effectiveAtMs: NEXT_MONTH },
    ],
    [
      'decrease in December: 1 January of the next year',
      { current: 5, requested: 1, effective: 'next-month', nowMs: Date.UTC(2026, 11, 15, 12) },
      { immediate: false, effectiveAtMs: Date.UTC(2027, 0, 1) },
    ],
    [
      'decrease in the last millisecond of the year',
      { current: 5, requested: 1, effective: 'next-month', nowMs: Date.UTC(2026, 11, 31, 23, 59, 59, 999) },
      { immediate: false, effectiveAtMs: Date.UTC(2027, 0, 1) },
    ],
  ];
  it.each(rows)('%s', (_name, patch, expected) => {
    expect(decideCpsChange(request(patch))).toEqual({ ok: true, ...expected });
  });
});

describe('startOfNextMonthUtc', () => {
  it.each([
    ['2026-11-27T10:30:00.000Z', '2026-12-01T00:00:00.000Z'],
    ['2026-12-15T12:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'], // the 1st itself: the next 1st, not now
    ['2027-01-31T18:00:00.000Z', '2027-02-01T00:00:00.000Z'],
    ['2028-02-29T12:00:00.000Z', '2028-03-01T00:00:00.000Z'], // leap day
    // late on the 30th in UTC is already the 1st in Asia: still UTC's next month
    ['2026-04-30T20:00:00.000Z', '2026-05-01T00:00:00.000Z'],
  ])('%s → %s', (now, expected) => {
    expect(new Date(startOfNextMonthUtc(Date.parse(now))).toISOString()).toBe(expected);
  });
});

describe('CpsConsole: the settings made through the HTTP API, on a manual clock', () => {
  function setup(type: AccountType = 'business-pcp', cps: Record<string, number> = { default: 1, ie1: 2 }) {
    const result = validateConfig({
      accounts: [{ name: 'acme', type }],
      trunks: [{ name: 'acme', account: 'acme', cps, auth: { ipAcl: ['127.0.0.0/8'] } }],
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const clock = new ManualClock(NOW);
    const alerts = new AlertLog(100, () => clock.now());
    const console = new CpsConsole(clock, alerts);
    const directory = new Directory(result.config);
    const trunk = (d: Directory = directory): CompiledTrunk => {
      const t = d.trunks.get('acme');
      if (t === undefined) throw new Error('no trunk');
      return t;
    };
    return { result, clock, alerts, console, directory, trunk };
  }

  it('without a setting, the file decides: the region, else default', () => {
    const { console, trunk } = setup();
    expect(console.inForce(trunk(), 'ie1')).toEqual({ cps: 2, source: 'config', pending: undefined });
    expect(console.inForce(trunk(), 'us1')).toEqual({ cps: 1, source: 'config', pending: undefined });
    expect(console.hasSetting(trunk(), 'us1')).toBe(false);
  });

  it('an allowed change applies at once, to that region only', () => {
    const { console, trunk, alerts } = setup();
    const r = console.change(trunk(), { region: 'us1', cps: 5 }, 5);
    expect(r).toEqual({ ok: true, value: { cps: 5, source: 'console', pending: undefined } });
    expect(console.inForce(trunk(), 'us1').cps).toBe(5);
    expect(console.inForce(trunk(), 'ie1')).toMatchObject({ cps: 2, source: 'config' });
    expect(alerts.list()).toEqual([]);
  });

  it('a refused change leaves the CPS alone, raises alert 21251 and returns the catalogue error', () => {
    const { console, trunk, alerts } = setup('individual-pcp');
    const r = console.change(trunk(), { region: 'us1', cps: 2 }, 5);
    // in memory the change is decided at once (a promise only with a shared store)
    if (r instanceof Promise) throw new Error('a promise from the memory Console');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(21251);
    expect(r.error.status).toBe(403);
    expect(r.error.message).toMatch(/^Trunking CPS change not allowed: a individual-pcp account's CPS stays at 1/);
    expect(console.inForce(trunk(), 'us1')).toMatchObject({ cps: 1, source: 'config' });
    expect(alerts.list().map((a) => [a.code, a.trunk])).toEqual([[21251, 'acme']]);
  });

  it('a decrease for next month waits until the 1st (UTC), then applies by itself', async () => {
    const { console, trunk, clock } = setup();
    await console.change(trunk(), { region: 'us1', cps: 5 }, 5);
    const r = console.change(trunk(), { region: 'us1', cps: 2, effective: 'next-month' }, 5);
    expect(r).toEqual({ ok: true, value: { cps: 5, source: 'console', pending: { cps: 2, effectiveAtMs: NEXT_MONTH } } });
    clock.set(NEXT_MONTH - 1);
    expect(console.inForce(trunk(), 'us1')).toMatchObject({ cps: 5, pending: { cps: 2 } });
    clock.set(NEXT_MONTH);
    expect(console.inForce(trunk(), 'us1')).toEqual({ cps: 2, source: 'console', pending: undefined });
  });

  it('survives a reload (the scopes are handed on) and vanishes with the trunk', async () => {
    const { console, trunk, directory, result } = setup();
    await console.change(trunk(), { region: 'us1', cps: 4 }, 5);
    const reloaded = new Directory({ ...result.config, trunks: result.config.trunks.map((t) => ({ ...t, cps: { default: 3 } })) }, directory);
    expect(console.inForce(trunk(reloaded), 'us1')).toMatchObject({ cps: 4, source: 'console' });
    expect(console.inForce(trunk(reloaded), 'ie1')).toMatchObject({ cps: 3, source: 'config' });
    const removed = new Directory({ ...result.config, trunks: [] }, reloaded);
    const back = new Directory(result.config, removed);
    expect(console.inForce(trunk(back), 'us1')).toMatchObject({ cps: 1, source: 'config' });
  });
});
