/**
 * What the scenario runner reads from a running gateway: the trunks' limits
 * (GET /v1/trunks) and the per-trunk counters of /metrics.
 */
import { request } from 'node:http';
import { errorOf, type TrunkgateError } from '../errors.js';
import type { TrunkView } from '../http/admin-api.js';

export type Counters = { attempts: Record<string, number>; ended: Record<string, number> };

/**
 * GET with node:http, not fetch: fetch refuses the ports of its "bad ports" list (6000, 6665 …),
 * which a gateway may well listen on.
 */
function get(url: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export class GatewayClient {
  private readonly headers: Record<string, string>;

  constructor(
    /** HOST:PORT of the gateway's HTTP listener. */
    readonly http: string,
    private readonly token: string | undefined,
  ) {
    this.headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  /** GET /v1/trunks; a catalogued error when the gateway is not there or wants a token. */
  async trunks(): Promise<{ ok: true; trunks: TrunkView[] } | { ok: false; error: TrunkgateError }> {
    const url = `http://${this.http}/v1/trunks`;
    let res: { status: number; body: string };
    try {
      res = await get(url, this.headers);
    } catch (err) {
      return { ok: false, error: errorOf('GATEWAY_UNREACHABLE', url, (err as NodeJS.ErrnoException).code ?? (err as Error).message) };
    }
    if (res.status === 401) return { ok: false, error: errorOf('ADMIN_TOKEN_NEEDED', url, this.token !== undefined) };
    if (res.status !== 200) return { ok: false, error: errorOf('GATEWAY_UNREACHABLE', url, `HTTP ${res.status} ${res.body.slice(0, 200)}`) };
    try {
      return { ok: true, trunks: JSON.parse(res.body) as TrunkView[] };
    } catch {
      return { ok: false, error: errorOf('GATEWAY_UNREACHABLE', url, 'the answer is not JSON: is that a trunkgate?') };
    }
  }

  /** trunkgate_call_attempts_total by outcome and trunkgate_calls_ended_total by disposition, for one trunk. */
  async counters(trunk: string): Promise<Counters> {
    const res = await get(`http://${this.http}/metrics`, {});
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return parseCounters(res.body, trunk);
  }
}

/** The two counters of one trunk from Prometheus text, summed over the other labels. */
export function parseCounters(text: string, trunk: string): Counters {
  const out: Counters = { attempts: {}, ended: {} };
  for (const line of text.split('\n')) {
    const m = /^(trunkgate_call_attempts_total|trunkgate_calls_ended_total)\{([^}]*)\} (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const x of (m[2] as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[x[1] as string] = x[2] as string;
    if (labels['trunk'] !== trunk) continue;
    const [table, key] = m[1] === 'trunkgate_call_attempts_total' ? [out.attempts, labels['outcome']] : [out.ended, labels['disposition']];
    if (key !== undefined) table[key] = (table[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** after − before, keeping only what grew. */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
