/**
 * The command line's quick overrides of the default trunk (SPEC §7.1), applied
 * to the raw configuration before validation, so a bad value is reported
 * like any other config problem.
 */

export interface QuickOverrides {
  cps?: number | undefined;
  accountType?: string | undefined;
  maxConcurrent?: number | undefined;
  route?: string | undefined;
  sipListen?: string[] | undefined;
  httpListen?: string | undefined;
}

type Raw = Record<string, unknown>;

function obj(parent: Raw, key: string): Raw {
  const v = parent[key];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Raw;
  const fresh: Raw = {};
  parent[key] = fresh;
  return fresh;
}

/** A copy of `raw` with the overrides applied to the first trunk and its account. */
export function applyOverrides(raw: unknown, o: QuickOverrides): unknown {
  const root: Raw = structuredClone(typeof raw === 'object' && raw !== null ? (raw as Raw) : {});
  if (o.sipListen !== undefined && o.sipListen.length > 0) obj(root, 'sip')['listen'] = o.sipListen;
  if (o.httpListen !== undefined) obj(root, 'http')['listen'] = o.httpListen;
  const trunks = Array.isArray(root['trunks']) ? (root['trunks'] as unknown[]) : [];
  const trunk = trunks[0];
  const needsTrunk = o.cps !== undefined || o.maxConcurrent !== undefined || o.route !== undefined || o.accountType !== undefined;
  if (!needsTrunk) return root;
  if (typeof trunk !== 'object' || trunk === null) {
    throw new Error('--cps, --account-type, --max-concurrent and --route change the first trunk, and the configuration has none');
  }
  const t = trunk as Raw;
  if (o.cps !== undefined) t['cps'] = { default: o.cps };
  if (o.maxConcurrent !== undefined) t['maxConcurrentCalls'] = o.maxConcurrent;
  if (o.route !== undefined) t['route'] = o.route;
  if (o.accountType !== undefined) {
    const accounts = Array.isArray(root['accounts']) ? (root['accounts'] as unknown[]) : [];
    const account = accounts.find((a) => typeof a === 'object' && a !== null && (a as Raw)['name'] === t['account']);
    if (account === undefined) throw new Error(`--account-type: the first trunk's account "${String(t['account'])}" is not configured`);
    (account as Raw)['type'] = o.accountType;
  }
  return root;
}
