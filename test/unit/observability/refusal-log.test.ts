/**
 * The refusal log: one line per refusal up to the per-second cap, then one
 * summary that accounts for every refusal not logged (on the next second, on
 * a timer when the flood stops, and at stop); nothing below `info`.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/limits/clock.js';
import { type Refusal, RefusalLog } from '../../../src/observability/refusal-log.js';

function collector(level = 'info'): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

function refusal(clock: ManualClock, outcome = 'cps_limited', status = 503): Refusal {
  return { time: clock.now(), status, reason: status === 0 ? 'no trunk' : 'Service Unavailable', outcome, trunk: status === 0 ? undefined : 'demo', region: 'us1', callId: 'c@pbx', source: '192.0.2.10:5062', alert: 32012 };
}

afterEach(() => vi.useRealTimers());

describe('RefusalLog', () => {
  it('writes one info line per refusal with status, reason, trunk, Call-ID and source', () => {
    const { log, lines } = collector();
    const clock = new ManualClock(10_000);
    const r = new RefusalLog(log, 5, () => clock.now());
    r.refused(refusal(clock));
    r.refused(refusal(clock, 'dropped', 0));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'refused INVITE from 192.0.2.10:5062: 503 Service Unavailable (trunk demo)', status: 503, reason: 'Service Unavailable', trunk: 'demo', callId: 'c@pbx', source: '192.0.2.10:5062', outcome: 'cps_limited', alert: 32012 });
    expect(lines[1]).toMatchObject({ msg: 'dropped INVITE from 192.0.2.10:5062: no trunk (no response)', status: 0 });
  });

  it('caps lines per second; the next second starts with a summary of what was held back, by outcome', () => {
    const { log, lines } = collector();
    const clock = new ManualClock(10_000);
    const r = new RefusalLog(log, 3, () => clock.now());
    for (let i = 0; i < 10; i++) r.refused(refusal(clock, i % 2 === 0 ? 'cps_limited' : 'forbidden', 503));
    expect(lines).toHaveLength(3);
    clock.advance(1000);
    r.refused(refusal(clock));
    expect(lines).toHaveLength(5);
    expect(lines[3]).toMatchObject({ suppressed: 7, byOutcome: { cps_limited: 3, forbidden: 4 }, msg: '7 more refused INVITEs not logged one by one (over 3/s): forbidden 4, cps_limited 3' });
    expect(lines[4]).toMatchObject({ status: 503 });
    r.stop();
    expect(lines).toHaveLength(5); // nothing held back any more
  });

  it('a flood that stops still gets its summary, on a timer', () => {
    vi.useFakeTimers();
    const { log, lines } = collector();
    const clock = new ManualClock(0);
    const r = new RefusalLog(log, 1, () => clock.now());
    for (let i = 0; i < 4; i++) r.refused(refusal(clock));
    expect(lines).toHaveLength(1);
    clock.advance(1000);
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ suppressed: 3, seconds: 1 });
  });

  it('0 lines a second logs summaries only; below info it writes nothing', () => {
    const a = collector();
    const clock = new ManualClock(0);
    const r = new RefusalLog(a.log, 0, () => clock.now());
    r.refused(refusal(clock));
    r.stop();
    expect(a.lines.map((l) => l['suppressed'])).toEqual([1]);
    const b = collector('warn');
    const quiet = new RefusalLog(b.log, 5, () => clock.now());
    for (let i = 0; i < 10; i++) quiet.refused(refusal(clock));
    quiet.stop();
    expect(b.lines).toEqual([]);
  });
});
