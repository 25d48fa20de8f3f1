/**
 * Start a gateway in-process on 127.0.0.1, port 0, for a test: the built-in
 * default configuration (examples/trunkgate.yaml) with test-friendly changes,
 * then the test's own patch, deep-merged (arrays replace).
 */
import { createGateway, type Gateway } from '../../src/gateway.js';
import { DEFAULT_CONFIG_PATH, formatProblems, readConfigRaw, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

type Patch = Record<string, unknown>;

/** What tests change in the default config: ephemeral ports, a short T1, answer at once, no CPS bound. */
export const TEST_BASE: Patch = {
  sip: {
    listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0'],
    timers: { t1Ms: 100, t2Ms: 1000, t4Ms: 500 },
    // SIPp's built-in scenarios address the IP, not demo.pstn.twilio.com
    fallbackTrunk: 'demo',
  },
  http: { listen: '127.0.0.1:0' },
  trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: 'builtin' }],
  pstn: { answerAfterMs: 0 },
};

export function merge(base: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return patch;
  const out: Patch = { ...(base as Patch) };
  for (const [k, v] of Object.entries(patch as Patch)) out[k] = v === undefined ? out[k] : merge(out[k], v);
  return out;
}

export function testConfig(patch: Patch = {}): Config {
  const raw = readConfigRaw(DEFAULT_CONFIG_PATH);
  if (!raw.ok) throw new Error(formatProblems(raw.problems));
  const result = validateConfig(merge(merge(raw.raw, TEST_BASE), patch));
  if (!result.ok) throw new Error(`test config is invalid:\n${formatProblems(result.problems)}`);
  return result.config;
}

export async function startTestGateway(patch: Patch = {}): Promise<Gateway> {
  const gateway = createGateway({ config: testConfig(patch) });
  await gateway.start();
  return gateway;
}

/** `127.0.0.1:port` of a gateway's listener, as SIPp wants its target. */
export function sipTarget(gateway: Gateway, transport: 'udp' | 'tcp' | 'tls' = 'udp'): string {
  const l = gateway.address(transport);
  return `${l.address}:${l.port}`;
}
