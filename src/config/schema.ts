/**
 * The configuration file (SPEC §7.2), as a zod schema: the single source of
 * truth for the config types. camelCase keys, units in names, unknown keys
 * are errors, every default explicit.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ACCOUNT_TYPES, type AccountType } from '../limits/account-limits.js';
import { E164, NUMBER_PATTERN } from '../numbers/number-patterns.js';
import { parseListenUrl } from '../sip/transport/listen-url.js';
import { parseCidr } from './cidr.js';
import { parseRoute } from './route.js';

export { ACCOUNT_TYPES, type AccountType };

/** CPS accounting regions (SPEC §2.1 table). */
export const REGIONS = ['us1', 'us2', 'ie1', 'de1', 'sg1', 'jp1', 'br1', 'au1'] as const;
export type Region = (typeof REGIONS)[number];

const listenUrl = z.string().superRefine((v, ctx) => {
  const r = parseListenUrl(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
});

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080')
  .refine((v) => {
    const port = /:(\d+)$/.exec(v);
    return port === null || Number(port[1]) <= 65535;
  }, 'the port must be 0-65535');

const numberPattern = z.string().regex(NUMBER_PATTERN, 'expected an E.164 number like +14155550100, or a prefix ending in *, like +1555*');
const e164 = z.string().regex(E164, 'expected an E.164 number: + then 1-15 digits, first digit not 0');

const cps = z.number().min(0, 'CPS cannot be negative').max(100_000);

const TimersSchema = z.strictObject({
  t1Ms: z.number().int().min(1).max(60_000).default(500),
  t2Ms: z.number().int().min(1).max(600_000).default(4000),
  t4Ms: z.number().int().min(0).max(600_000).default(5000),
});

const SipSchema = z.strictObject({
  listen: z.array(listenUrl).min(1, 'at least one listen address').default(['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060']),
  domainSuffix: z
    .string()
    .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'expected a domain like pstn.twilio.com')
    .default('pstn.twilio.com'),
  unknownDomain: z.enum(['drop', 'reject']).default('drop'),
  /**
   * extension: the trunk that takes INVITEs whose Request-URI host names no
   * trunk (SIPp's built-in scenarios put the IP address there). The provider
   * itself drops those; null keeps that behaviour.
   */
  fallbackTrunk: z.string().nullable().default(null),
  timers: TimersSchema.default({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }),
  diagnostics: z.boolean().default(false),
  /** extension: close idle TCP connections after this long */
  tcpIdleTimeoutMs: z.number().int().min(100).default(120_000),
  /** extension: largest message (UDP datagram, TCP Content-Length) accepted */
  maxMessageBytes: z.number().int().min(1024).max(1_048_576).default(65_535),
  /** extension: close a TCP connection whose message has started but not finished after this long (slowloris) */
  tcpMessageTimeoutMs: z.number().int().min(100).default(20_000),
  /** extension: most inbound TCP connections at once; more are refused */
  maxTcpConnections: z.number().int().min(1).max(1_000_000).default(1024),
  /**
   * extension: the address put in Via, Contact and SDP when listening on a
   * wildcard (0.0.0.0, ::); null: the first non-internal interface address
   */
  advertisedAddress: z
    .string()
    .refine((v) => isIP(v) !== 0, 'expected an IPv4 or IPv6 address')
    .nullable()
    .default(null),
});

const ShutdownSchema = z.strictObject({
  drainMs: z.number().int().min(0).default(30_000),
});

const HttpSchema = z.strictObject({
  listen: hostPort.default('127.0.0.1:8080'),
  token: z.string().min(8, 'a token should be at least 8 characters').nullable().default(null),
});

const CpsSchema = z.strictObject({
  algorithm: z.enum(['token-bucket', 'sliding-window', 'fixed-window']).default('token-bucket'),
  selfServeMaxCps: cps.default(5),
});

const AccountLimitsSchema = z.strictObject({
  trunkingConcurrentCalls: z.number().int().min(0).nullable().optional(),
  voiceConcurrentCalls: z.number().int().min(0).nullable().optional(),
  /** extension: maximum call duration, overriding 4 h / 24 h / 10 min */
  maxCallDurationSeconds: z.number().min(0.1).optional(),
});

const regionMap = z.partialRecord(z.enum(REGIONS), cps);

const AccountSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'expected a name of letters, digits and dashes'),
  sid: z
    .string()
    .regex(/^AC[0-9a-f]{32}$/i, 'expected AC followed by 32 hex digits')
    .optional(),
  type: z.enum(ACCOUNT_TYPES),
  legacy: z.boolean().default(false),
  active: z.boolean().default(true),
  limits: AccountLimitsSchema.default({}),
  pooledCps: regionMap.optional(),
  callerIds: z.array(e164).optional(),
  verifiedNumbers: z.array(e164).default([]),
  geoPermissions: z.array(z.string().regex(/^[1-9]\d{0,2}$/, 'expected a country calling code like 1 or 44')).default(['1']),
  extendedCallDuration: z.boolean().default(false),
});

const CredentialSchema = z.strictObject({
  username: z.string().min(1),
  password: z.string().min(1),
});

const cidr = z.string().superRefine((v, ctx) => {
  if (parseCidr(v) === undefined) ctx.addIssue({ code: 'custom', message: 'expected an IPv4 or IPv6 CIDR like 192.0.2.0/24 or ::1/128' });
});

const route = z.string().superRefine((v, ctx) => {
  const r = parseRoute(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
});

const TrunkSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case name of letters, digits and dashes (the termination URI host label)'),
  account: z.string(),
  region: z.enum(REGIONS).default('us1'),
  cps: z.strictObject({ default: cps.default(1) }).catchall(cps).default({ default: 1 }),
  burst: z.number().min(1).nullable().default(null),
  maxConcurrentCalls: z.number().int().min(0).nullable().default(null),
  auth: z
    .strictObject({
      ipAcl: z.array(cidr).default([]),
      credentials: z.array(CredentialSchema).default([]),
    })
    .default({ ipAcl: [], credentials: [] }),
  route: route.default('builtin'),
});

export const BEHAVIOURS = ['answer', 'busy', 'no-answer', 'reject', 'hangup-after'] as const;

const PstnRuleSchema = z.strictObject({
  number: numberPattern,
  behaviour: z.enum(BEHAVIOURS),
  status: z.number().int().min(300).max(699).optional(),
  answerAfterMs: z.number().int().min(0).optional(),
  hangupAfterMs: z.number().int().min(0).optional(),
  ringTimeoutMs: z.number().int().min(0).optional(),
});

const PstnSchema = z.strictObject({
  answerAfterMs: z.number().int().min(0).default(1000),
  earlyMedia: z.boolean().default(false),
  ringTimeoutMs: z.number().int().min(0).default(60_000),
  hangupAfterMs: z.number().int().min(0).nullable().default(null),
  rules: z.array(PstnRuleSchema).default([]),
});

const hepUrl = z.string().superRefine((v, ctx) => {
  const r = parseListenUrl(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `${r.reason.replace('a listen URL', 'a HEP collector address')}; expected udp://HOST:PORT, e.g. udp://127.0.0.1:9060` });
  else if (r.spec.transport !== 'udp') ctx.addIssue({ code: 'custom', message: `HEP goes over UDP: expected udp://HOST:PORT, e.g. udp://127.0.0.1:9060, not ${r.spec.transport}://` });
  else if (r.spec.port === 0 || r.spec.host === '0.0.0.0' || r.spec.host === '::') ctx.addIssue({ code: 'custom', message: 'expected the address and port of the HEP collector, e.g. udp://127.0.0.1:9060' });
});

/** extension: what trunkgate keeps and sends so calls can be watched and debugged. */
const MessageStoreSchema = z.strictObject({
  maxCalls: z.number().int().min(0).max(1_000_000).default(500),
  maxBytes: z.number().int().min(65_536).max(1_073_741_824).default(4_194_304),
  maxMessagesPerCall: z.number().int().min(1).max(100_000).default(200),
});

const ObservabilitySchema = z.strictObject({
  messageStore: MessageStoreSchema.default({ maxCalls: 500, maxBytes: 4_194_304, maxMessagesPerCall: 200 }),
  hep: hepUrl.nullable().default(null),
  hepCaptureId: z.number().int().min(0).max(4_294_967_295).default(2001),
  refusalLogLinesPerSecond: z.number().int().min(0).max(100_000).default(20),
});

export const ConfigSchema = z
  .strictObject({
    sip: SipSchema.default(SipSchema.parse({})),
    shutdown: ShutdownSchema.default({ drainMs: 30_000 }),
    http: HttpSchema.default({ listen: '127.0.0.1:8080', token: null }),
    blocklist: z.array(numberPattern).default([]),
    cps: CpsSchema.default({ algorithm: 'token-bucket', selfServeMaxCps: 5 }),
    accounts: z.array(AccountSchema).default([]),
    trunks: z.array(TrunkSchema).default([]),
    pstn: PstnSchema.default(PstnSchema.parse({})),
    observability: ObservabilitySchema.default(ObservabilitySchema.parse({})),
  });

export interface CrossIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * Checks across fields (unique names, trunk → account references, regions in
 * CPS maps, reject rules with a status). They run on the raw input, even when
 * other parts fail the schema, so one run lists every problem.
 */
export function crossCheck(raw: unknown): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const root = isRecord(raw) ? raw : {};
  const accounts = Array.isArray(root['accounts']) ? root['accounts'] : [];
  const trunks = Array.isArray(root['trunks']) ? root['trunks'] : [];
  const accountNames = new Set<string>();
  accounts.forEach((a: unknown, i: number) => {
    const name = isRecord(a) ? a['name'] : undefined;
    if (typeof name !== 'string') return;
    if (accountNames.has(name)) issues.push({ path: ['accounts', i, 'name'], message: `duplicate account name "${name}"` });
    accountNames.add(name);
  });
  const trunkNames = new Set<string>();
  trunks.forEach((t: unknown, i: number) => {
    if (!isRecord(t)) return;
    const name = t['name'];
    if (typeof name === 'string') {
      if (trunkNames.has(name)) issues.push({ path: ['trunks', i, 'name'], message: `duplicate trunk name "${name}"` });
      trunkNames.add(name);
    }
    const account = t['account'];
    if (typeof account === 'string' && !accountNames.has(account)) {
      issues.push({
        path: ['trunks', i, 'account'],
        message: `no account named "${account}"; expected one of: ${[...accountNames].join(', ') || '(no accounts configured)'}`,
      });
    }
    const cpsMap = t['cps'];
    if (isRecord(cpsMap)) {
      for (const key of Object.keys(cpsMap)) {
        if (key !== 'default' && !(REGIONS as readonly string[]).includes(key)) {
          issues.push({ path: ['trunks', i, 'cps', key], message: `unknown region "${key}"; expected default or one of ${REGIONS.join(', ')}` });
        }
      }
    }
  });
  const sip = isRecord(root['sip']) ? root['sip'] : {};
  const fallback = sip['fallbackTrunk'];
  if (typeof fallback === 'string' && !trunkNames.has(fallback)) {
    issues.push({ path: ['sip', 'fallbackTrunk'], message: `no trunk named "${fallback}"; expected one of: ${[...trunkNames].join(', ') || '(no trunks configured)'}` });
  }
  const pstn = isRecord(root['pstn']) ? root['pstn'] : {};
  const rules = Array.isArray(pstn['rules']) ? pstn['rules'] : [];
  rules.forEach((r: unknown, i: number) => {
    if (isRecord(r) && r['behaviour'] === 'reject' && r['status'] === undefined) {
      issues.push({ path: ['pstn', 'rules', i, 'status'], message: 'a reject rule needs a status (300-699)' });
    }
    if (isRecord(r) && r['behaviour'] === 'hangup-after' && r['hangupAfterMs'] === undefined && typeof pstn['hangupAfterMs'] !== 'number') {
      issues.push({ path: ['pstn', 'rules', i, 'hangupAfterMs'], message: 'a hangup-after rule needs hangupAfterMs (here or in pstn.hangupAfterMs)' });
    }
  });
  return issues;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The validated configuration, defaults applied. */
export type Config = z.infer<typeof ConfigSchema>;
export type AccountConfig = Config['accounts'][number];
export type TrunkConfig = Config['trunks'][number];
export type PstnConfig = Config['pstn'];
export type PstnRule = PstnConfig['rules'][number];
export type Behaviour = (typeof BEHAVIOURS)[number];
export type ObservabilityConfig = Config['observability'];
