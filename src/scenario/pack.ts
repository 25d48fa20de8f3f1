/**
 * The SIPp scenario pack (sip-scenarios/, shipped with the package): what
 * each scenario offers and the numbers it calls by default.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** sip-scenarios/ of this package (from src/scenario/ or dist/scenario/, two levels up). */
export const PACK_DIR = fileURLToPath(new URL('../../sip-scenarios/', import.meta.url));

export interface ScenarioSpec {
  /** The XML file in the pack. */
  file: string;
  /** The default `--numbers` CSV in sip-scenarios/numbers/, or none (no calls). */
  numbers: string | undefined;
  /** INVITEs that the trunk admits or refuses (false: requests outside calls). */
  calls: boolean;
  /** How long an answered call is held (or rings, for cancel-ringing) unless --hold-ms says otherwise. */
  defaultHoldMs: number;
  /** The call's lease lasts the ringing only (the caller cancels), not the emulator's answer delay. */
  cancelsWhileRinging: boolean;
  /** Answers a 407 challenge with --user/--password. */
  digest: boolean;
  /**
   * How a call the gateway refuses or the far end does not answer shows in SIPp's statistics:
   * `refusals-succeed` (the scenario takes the 503 as an outcome) or `refusals-fail` (any answer
   * but 200 fails the SIPp call).
   */
  sippCounts: 'refusals-succeed' | 'refusals-fail';
  summary: string;
}

export const SCENARIOS = {
  'basic-call': {
    file: 'basic-call.xml',
    numbers: 'us.csv',
    calls: true,
    defaultHoldMs: 0,
    cancelsWhileRinging: false,
    digest: false,
    sippCounts: 'refusals-fail',
    summary: 'calls answered and hung up by the PBX (a refusal or a busy number is a failed SIPp call)',
  },
  'cps-burst': {
    file: 'cps-burst.xml',
    numbers: 'us.csv',
    calls: true,
    defaultHoldMs: 0,
    cancelsWhileRinging: false,
    digest: false,
    sippCounts: 'refusals-succeed',
    summary: 'call setups; each is admitted or refused with a 503',
  },
  'concurrency-hold': {
    file: 'concurrency-hold.xml',
    numbers: 'us.csv',
    calls: true,
    defaultHoldMs: 0,
    cancelsWhileRinging: false,
    digest: false,
    sippCounts: 'refusals-succeed',
    summary: 'calls held --hold-ms; each is admitted or refused with a 503',
  },
  'digest-auth': {
    file: 'digest-auth.xml',
    numbers: 'us.csv',
    calls: true,
    defaultHoldMs: 0,
    cancelsWhileRinging: false,
    digest: true,
    sippCounts: 'refusals-fail',
    summary: 'calls that answer the 407 challenge with --user and --password',
  },
  'cancel-ringing': {
    file: 'cancel-ringing.xml',
    numbers: 'ringing.csv',
    calls: true,
    defaultHoldMs: 1000,
    cancelsWhileRinging: true,
    digest: false,
    sippCounts: 'refusals-fail',
    summary: 'calls cancelled while ringing (--hold-ms of ringing, default 1000)',
  },
  'options-ping': {
    file: 'options-ping.xml',
    numbers: undefined,
    calls: false,
    defaultHoldMs: 0,
    cancelsWhileRinging: false,
    digest: false,
    sippCounts: 'refusals-fail',
    summary: 'OPTIONS keep-alives, answered 200 outside any call',
  },
} as const satisfies Record<string, ScenarioSpec>;

export type ScenarioName = keyof typeof SCENARIOS;

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

export function scenarioFile(spec: ScenarioSpec): string {
  return join(PACK_DIR, spec.file);
}

export function defaultNumbers(spec: ScenarioSpec): string | undefined {
  return spec.numbers === undefined ? undefined : join(PACK_DIR, 'numbers', spec.numbers);
}
