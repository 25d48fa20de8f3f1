/**
 * The configuration file (SPEC §7.2), as a zod schema: the single source of
 * truth for the config types. camelCase keys, units in names, unknown keys
 * are errors, every default explicit.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ACCOUNT_TYPES, type AccountType } from '../limits/account-limits.js';
import { E164, NUMBER_PATTERN } from '../numbers/number-patterns.js';
import { parseListenUrl } from '../sip/transport/listen-url.js';
import { parseCidr } from './cidr.js';
import { parseOriginationUri } from './origination-uri.js';
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

const pemFile = z.string().min(1, 'expected the path of a PEM file');

const TlsSchema = z.strictObject({
  cert: pemFile.nullable().default(null),
  key: pemFile.nullable().default(null),
  ca: pemFile.nullable().default(null),
  verifyCarriers: z.boolean().default(true),
});

/**
 * Clients (SPEC §10, §13): SIP user agents (browser softphones over WebSocket,
 * or any UA over UDP/TCP/TLS) that register as
 * `sip:<identity>@<account>.<sip.clientDomainSuffix>` with their own digest
 * password (a secret: never printed), and the registrar's bounds.
 */
function isWebhookUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0 && !u.hostname.includes('_');
  } catch {
    return false;
  }
}

const ClientRegistrationSchema = z.strictObject({
  /** extension: a REGISTER asking for less gets 423 Interval Too Brief with Min-Expires */
  minExpiresSeconds: z.number().int().min(1).max(86_400).default(60),
  /** extension: a longer registration is granted this much */
  maxExpiresSeconds: z.number().int().min(1).max(604_800).default(3600),
  /** extension: most registered contacts (devices) of one identity; the oldest goes when another registers */
  maxBindingsPerIdentity: z.number().int().min(1).max(100).default(10),
});

const ClientSchema = z.strictObject({
  identity: z.string().regex(/^[A-Za-z0-9_.~-]{1,256}$/, 'expected 1-256 letters, digits, _ . ~ or - (the user part of the client\'s SIP address)'),
  password: z.string().min(8, 'a client password should be at least 8 characters'),
});

const ClientAccountFields = {
  clients: z.array(ClientSchema).default([]),
  /** The TwiML webhook of calls the account's clients place; null: their INVITEs get 404 */
  clientVoiceUrl: z.string().refine(isWebhookUrl, 'expected an absolute http(s) URL whose host has no underscore').nullable().default(null),
  /** extension: the method of the clientVoiceUrl request */
  clientVoiceMethod: z.enum(['GET', 'POST']).default('POST'),
};

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
   * extension: most inbound TCP connections at once from one source IP
   * address (at most maxTcpConnections); null: a quarter of maxTcpConnections
   */
  maxTcpConnectionsPerSource: z.number().int().min(1).max(1_000_000).nullable().default(null),
  /**
   * extension: the address put in Via, Contact and SDP when listening on a
   * wildcard (0.0.0.0, ::); null: the first non-internal interface address
   */
  advertisedAddress: z
    .string()
    .refine((v) => isIP(v) !== 0, 'expected an IPv4 or IPv6 address')
    .nullable()
    .default(null),
  /**
   * TLS for tls:// listeners and carrier routes with ;transport=tls: our
   * certificate and key (PEM files; absent: a self-signed one is made at start,
   * for loopback listeners only), trust anchors for carriers, and whether to
   * check carriers' certificates at all (off for lab carriers)
   */
  tls: TlsSchema.default({ cert: null, key: null, ca: null, verifyCarriers: true }),
  /** the host suffix of the client domains: clients register as sip:<identity>@<account>.<suffix> */
  clientDomainSuffix: z
    .string()
    .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'expected a domain like client.twilio.com')
    .default('client.twilio.com'),
  /** extension: the registrar's bounds */
  clientRegistration: ClientRegistrationSchema.default(ClientRegistrationSchema.parse({})),
  /** extension: WebSocket ping interval; a ws/wss connection silent between two pings is closed */
  wsPingIntervalMs: z.number().int().min(100).max(3_600_000).default(30_000),
});

const ShutdownSchema = z.strictObject({
  drainMs: z.number().int().min(0).default(30_000),
});

/** A host name or IP address as a `Host` header names it, without the port. */
const hostName = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/i, 'expected a host name or IP address without a port, like trunkgate or gateway.lab.example');

const HttpSchema = z.strictObject({
  listen: hostPort.default('127.0.0.1:8080'),
  token: z.string().min(8, 'a token should be at least 8 characters').nullable().default(null),
  /**
   * extension: host names the `Host` header may carry besides the listener's
   * own address (DNS rebinding defence), e.g. the compose service name
   */
  allowedHosts: z.array(hostName).default([]),
  /** extension: /metrics needs the bearer token too (needs http.token) */
  metricsRequireToken: z.boolean().default(false),
});

export const DIGEST_ALGORITHMS = ['SHA-256', 'MD5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** extension: how the trunk's digest challenge is offered, and the ban on online password guessing */
const DigestSchema = z.strictObject({
  /** Offered in this order, one Proxy-Authenticate header each (RFC 8760); only these are accepted. */
  algorithms: z
    .array(z.enum(DIGEST_ALGORITHMS))
    .min(1, 'offer at least one algorithm')
    .refine((a) => new Set(a).size === a.length, 'each algorithm at most once')
    .default(['MD5']),
  /** The digest `uri` must be the Request-URI (RFC 2617 §3.2.2.5); SIPp needs -auth_uri for that. */
  requireUriMatch: z.boolean().default(true),
  /** Failed attempts (per source IP, and per username) within failureWindowSeconds that start a ban. */
  maxFailures: z.number().int().min(1).max(1_000_000).default(10),
  failureWindowSeconds: z.number().min(1).max(86_400).default(60),
  banSeconds: z.number().min(1).max(31_536_000).default(600),
});

/** extension: per-source request-rate limiting (Kamailio's pike), off by default */
const SourceRateLimitSchema = z.strictObject({
  enabled: z.boolean().default(false),
  requestsPerSecond: z.number().gt(0, 'expected a rate above 0').max(1_000_000).default(50),
  burst: z.number().int().min(1).max(1_000_000).default(100),
  blockSeconds: z.number().min(0).max(86_400).default(30),
});

const SecuritySchema = z.strictObject({
  digest: DigestSchema.default(DigestSchema.parse({})),
  sourceRateLimit: SourceRateLimitSchema.default(SourceRateLimitSchema.parse({})),
});

const CpsSchema = z.strictObject({
  algorithm: z.enum(['token-bucket', 'sliding-window', 'fixed-window']).default('token-bucket'),
  selfServeMaxCps: cps.default(5),
  /**
   * How early (ms) a call setup may arrive and still be admitted by the token
   * bucket (GCRA's τ); null: 10% of one token's interval, at most 100 ms
   */
  toleranceMs: z.number().min(0).max(10_000).nullable().default(null),
});

/**
 * Where limit state lives (SPEC §12): `memory` (this process), or a Redis
 * (or Valkey) URL, `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` or
 * `rediss://…` (TLS), shared by every instance pointed at it. The URL's
 * password is a secret: never printed.
 */
export const limitStoreUrl = z.string().superRefine((v, ctx) => {
  if (v === 'memory') return;
  const problem = redisUrlProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** What is wrong with a Redis URL, or undefined. */
export function redisUrlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'expected memory, or redis://[:PASSWORD@]HOST[:PORT][/DB] (rediss:// for TLS)';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `expected memory, redis:// or rediss://, not ${url.protocol}//`;
  if (url.hostname === '') return 'expected a host: redis://HOST[:PORT][/DB]';
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) return 'the path is the database number: redis://HOST:PORT/0';
  if (url.search !== '' || url.hash !== '') return 'no query or fragment: redis://[:PASSWORD@]HOST[:PORT][/DB]';
  return undefined;
}

/** A limits.store value as it may be printed: a URL's password replaced by <redacted>. */
export function redactedStoreUrl(store: string): string {
  if (store === 'memory') return store;
  const at = store.lastIndexOf('@');
  const scheme = store.indexOf('://');
  if (at === -1 || scheme === -1 || at < scheme) return store;
  const userinfo = store.slice(scheme + 3, at);
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? '' : userinfo.slice(0, colon);
  return `${store.slice(0, scheme + 3)}${user}:<redacted>${store.slice(at)}`;
}

const LimitsSchema = z.strictObject({
  store: limitStoreUrl.default('memory'),
  /** closed: refuse new calls (503) while the store cannot be reached; open: admit them, counted */
  onStoreFailure: z.enum(['closed', 'open']).default('closed'),
  /** how long a lease lives in the store without a heartbeat (a crashed instance's calls free their capacity after this) */
  leaseTtlMs: z.number().int().min(1000).max(3_600_000).default(30_000),
  /** extension: how long an admission waits for the store before it counts as unreachable */
  storeTimeoutMs: z.number().int().min(10).max(60_000).default(500),
  /** extension: prefix of every key trunkgate writes (several environments can share one Redis) */
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, dots, dashes or underscores')
    .default('trunkgate'),
});

const AccountLimitsSchema = z.strictObject({
  trunkingConcurrentCalls: z.number().int().min(0).nullable().optional(),
  voiceConcurrentCalls: z.number().int().min(0).nullable().optional(),
  /** extension: maximum call duration, overriding 4 h / 24 h / 10 min */
  maxCallDurationSeconds: z.number().min(0.1).optional(),
});

const regionMap = z.partialRecord(z.enum(REGIONS), cps);

/**
 * Programmable Voice (SPEC §10, §13): the REST API's credentials and the
 * account's CPS for API-created calls. `authToken` and `apiKeys[].secret`
 * are secrets: never printed.
 */
const ApiKeySchema = z.strictObject({
  sid: z.string().regex(/^SK[0-9a-f]{32}$/i, 'expected SK followed by 32 hex digits'),
  secret: z.string().min(8, 'an API key secret should be at least 8 characters'),
});

const VoiceAccountFields = {
  authToken: z.string().min(8, 'an auth token should be at least 8 characters').optional(),
  apiKeys: z.array(ApiKeySchema).default([]),
  voiceCps: cps.default(1),
};

const VoiceSchema = z.strictObject({
  /** The 22005 bound and the age at which a queued call is cancelled (SPEC §10: 24 h). */
  queueMaxWaitSeconds: z.number().gt(0, 'expected a number of seconds above 0').default(86_400),
  /** extension: how long a webhook (TwiML fetch, status callback, Dial action) may take (the provider: 15 s). */
  webhookTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
  /** extension: ended calls kept per account for GET …/Calls.json (the oldest are forgotten first). */
  maxEndedCallsPerAccount: z.number().int().min(1).max(1_000_000).default(10_000),
  /** extension: ended conferences kept per account for GET …/Conferences.json (the oldest are forgotten first). */
  maxEndedConferencesPerAccount: z.number().int().min(1).max(100_000).default(1000),
});

export const VOICE_DEFAULTS = VoiceSchema.parse({});

/** An http:// or https:// URL (a TwiML webhook). */
const webhookUrl = z.string().superRefine((v, ctx) => {
  let ok: boolean;
  try {
    const u = new URL(v);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL, e.g. http://127.0.0.1:3000/voice' });
});

/**
 * The account's phone numbers (SPEC §10, §11): a number with a `voiceUrl`
 * takes its inbound calls as a TwiML webhook; one with a `trunk` is that
 * trunk's (its calls go to the trunk's origination URIs).
 */
const AccountNumberSchema = z.strictObject({
  number: e164,
  voiceUrl: webhookUrl.optional(),
  voiceMethod: z.enum(['GET', 'POST']).default('POST'),
  trunk: z.string().optional(),
});

const AccountNumberFields = {
  numbers: z.array(AccountNumberSchema).default([]),
};

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
  ...VoiceAccountFields,
  ...ClientAccountFields,
  ...AccountNumberFields,
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

const originationUri = z.string().superRefine((v, ctx) => {
  const r = parseOriginationUri(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
});

/** One origination URI (SPEC §11): lower priority first; equal priorities share calls by weight. */
const OriginationUriSchema = z.strictObject({
  uri: originationUri,
  priority: z.number().int().min(0).max(65_535).default(10),
  weight: z.number().int().min(1).max(65_535).default(10),
  enabled: z.boolean().default(true),
});

/** Where a trunk's inbound calls go (SPEC §11): its origination URIs, the disaster-recovery webhook, its numbers. */
const OriginationSchema = z.strictObject({
  uris: z.array(OriginationUriSchema).max(10, "at most 10 origination URIs per trunk (the provider's error 21249)").default([]),
  disasterRecoveryUrl: webhookUrl.optional(),
  /** extension: the provider's disaster_recovery_method */
  disasterRecoveryMethod: z.enum(['GET', 'POST']).default('POST'),
  numbers: z.array(e164).default([]),
});

export const TRANSFER_MODES = ['disable-all', 'enable-all', 'sip-only'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];

/** Transfers (SPEC §9) and inbound calls (SPEC §11) of a trunk. */
const TrunkInboundFields = {
  transferMode: z.enum(TRANSFER_MODES).default('disable-all'),
  /** extension: the provider's transfer_caller_id: the transferred call's caller ID */
  transferCallerId: z.enum(['from-transferee', 'from-transferor']).default('from-transferee'),
  origination: OriginationSchema.default({ uris: [], disasterRecoveryMethod: 'POST', numbers: [] }),
};

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
  /** How long a carrier route may ring before trunkgate cancels it and answers the PBX 408 (RFC 3261 Timer C, at least 3 min) */
  ringTimeoutMs: z.number().int().min(1000).max(3_600_000).default(180_000),
  /** Secure trunking: calls only over TLS with SRTP offered (SPEC §9) */
  secure: z.boolean().default(false),
  ...TrunkInboundFields,
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
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a HEP collector address: expected udp://HOST:PORT, e.g. udp://127.0.0.1:9060` });
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
    http: HttpSchema.default(HttpSchema.parse({})),
    blocklist: z.array(numberPattern).default([]),
    cps: CpsSchema.default({ algorithm: 'token-bucket', selfServeMaxCps: 5, toleranceMs: null }),
    accounts: z.array(AccountSchema).default([]),
    trunks: z.array(TrunkSchema).default([]),
    pstn: PstnSchema.default(PstnSchema.parse({})),
    voice: VoiceSchema.default(VOICE_DEFAULTS),
    security: SecuritySchema.default(SecuritySchema.parse({})),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    /** the `instance` label of this instance's metrics, and its name in the shared store; default: the host name */
    instance: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, dots, dashes or underscores (at most 63)')
      .default(() => defaultInstanceName()),
    observability: ObservabilitySchema.default(ObservabilitySchema.parse({})),
  });

/** The host name, made into a valid instance name. */
export function defaultInstanceName(): string {
  const name = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return name === '' ? 'trunkgate' : name;
}

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
  // The REST API finds an account by its SID and an API key by its SID: both must be unique.
  const sids = new Set<string>();
  const keySids = new Set<string>();
  accounts.forEach((a: unknown, i: number) => {
    if (!isRecord(a)) return;
    const sid = a['sid'];
    if (typeof sid === 'string') {
      if (sids.has(sid.toLowerCase())) issues.push({ path: ['accounts', i, 'sid'], message: `duplicate account SID "${sid}"` });
      sids.add(sid.toLowerCase());
    }
    const keys = Array.isArray(a['apiKeys']) ? a['apiKeys'] : [];
    keys.forEach((k: unknown, j: number) => {
      const keySid = isRecord(k) ? k['sid'] : undefined;
      if (typeof keySid !== 'string') return;
      if (keySids.has(keySid.toLowerCase())) issues.push({ path: ['accounts', i, 'apiKeys', j, 'sid'], message: `duplicate API key SID "${keySid}" (an API key belongs to one account)` });
      keySids.add(keySid.toLowerCase());
    });
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
  issues.push(...tlsIssues(sip, trunks));
  issues.push(...clientIssues(sip, accounts));
  issues.push(...numberIssues(accounts, trunks));
  const perSource = sip['maxTcpConnectionsPerSource'];
  const globalCap = typeof sip['maxTcpConnections'] === 'number' ? sip['maxTcpConnections'] : 1024;
  if (typeof perSource === 'number' && perSource > globalCap) {
    issues.push({ path: ['sip', 'maxTcpConnectionsPerSource'], message: `expected at most sip.maxTcpConnections (${globalCap}): one source must not be able to take every connection` });
  }
  const http = isRecord(root['http']) ? root['http'] : {};
  if (http['metricsRequireToken'] === true && typeof http['token'] !== 'string') {
    issues.push({ path: ['http', 'metricsRequireToken'], message: 'needs http.token: /metrics would take a token that is not set' });
  }
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

/** Client identities are unique in their account; the registrar's bounds are in order. */
function clientIssues(sip: Record<string, unknown>, accounts: readonly unknown[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  accounts.forEach((a: unknown, i: number) => {
    const clients = isRecord(a) && Array.isArray(a['clients']) ? a['clients'] : [];
    const seen = new Set<string>();
    clients.forEach((c: unknown, j: number) => {
      const identity = isRecord(c) ? c['identity'] : undefined;
      if (typeof identity !== 'string') return;
      if (seen.has(identity)) issues.push({ path: ['accounts', i, 'clients', j, 'identity'], message: `duplicate client identity "${identity}" in this account` });
      seen.add(identity);
    });
  });
  const reg = isRecord(sip['clientRegistration']) ? sip['clientRegistration'] : {};
  const min = reg['minExpiresSeconds'];
  const max = reg['maxExpiresSeconds'];
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    issues.push({ path: ['sip', 'clientRegistration', 'maxExpiresSeconds'], message: `expected at least minExpiresSeconds (${min})` });
  }
  return issues;
}

/**
 * Phone numbers across accounts and trunks (SPEC §11): a number belongs to
 * one place; an account number's trunk is one of the account's trunks; a
 * number goes to a trunk or to a voice URL, not both.
 */
function numberIssues(accounts: readonly unknown[], trunks: readonly unknown[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const trunkAccount = new Map<string, unknown>();
  for (const t of trunks) if (isRecord(t) && typeof t['name'] === 'string') trunkAccount.set(t['name'], t['account']);
  /** number → where it was first seen, and the trunk it belongs to (undefined: a voice URL or nothing). */
  const owner = new Map<string, { where: string; trunk: string | undefined }>();
  trunks.forEach((t: unknown, i: number) => {
    if (!isRecord(t) || !isRecord(t['origination'])) return;
    const numbers = t['origination']['numbers'];
    if (!Array.isArray(numbers)) return;
    numbers.forEach((n: unknown, j: number) => {
      if (typeof n !== 'string') return;
      const seen = owner.get(n);
      if (seen !== undefined) issues.push({ path: ['trunks', i, 'origination', 'numbers', j], message: `${n} is already a number of ${seen.where}: a number belongs to one trunk` });
      else owner.set(n, { where: `trunks[${i}]`, trunk: typeof t['name'] === 'string' ? t['name'] : undefined });
    });
  });
  accounts.forEach((a: unknown, i: number) => {
    if (!isRecord(a) || !Array.isArray(a['numbers'])) return;
    a['numbers'].forEach((n: unknown, j: number) => {
      if (!isRecord(n) || typeof n['number'] !== 'string') return;
      const number = n['number'];
      const trunk = n['trunk'];
      if (typeof trunk === 'string') {
        if (!trunkAccount.has(trunk)) issues.push({ path: ['accounts', i, 'numbers', j, 'trunk'], message: `no trunk named "${trunk}"; expected one of: ${[...trunkAccount.keys()].join(', ') || '(no trunks configured)'}` });
        else if (trunkAccount.get(trunk) !== a['name']) issues.push({ path: ['accounts', i, 'numbers', j, 'trunk'], message: `trunk "${trunk}" belongs to another account: a number goes to a trunk of its own account` });
        if (n['voiceUrl'] !== undefined) issues.push({ path: ['accounts', i, 'numbers', j], message: 'give a trunk or a voiceUrl, not both: a number takes its inbound calls one way' });
      }
      const seen = owner.get(number);
      // the same number in the trunk's origination.numbers and here with that trunk says the same thing twice: fine
      if (seen !== undefined && !(typeof trunk === 'string' && seen.trunk === trunk && n['voiceUrl'] === undefined)) {
        issues.push({ path: ['accounts', i, 'numbers', j, 'number'], message: `${number} is already a number of ${seen.where}: a number belongs to one place` });
      } else if (seen === undefined) owner.set(number, { where: `accounts[${i}]`, trunk: typeof trunk === 'string' ? trunk : undefined });
    });
  });
  return issues;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

/**
 * TLS across fields: cert and key go together; a tls:// listener reachable
 * from elsewhere needs them (a self-signed one is made for loopback only); a
 * route or a secure trunk needs a listener of its transport.
 */
function tlsIssues(sip: Record<string, unknown>, trunks: readonly unknown[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const tls = isRecord(sip['tls']) ? sip['tls'] : {};
  const hasCert = typeof tls['cert'] === 'string';
  const hasKey = typeof tls['key'] === 'string';
  if (hasCert !== hasKey) issues.push({ path: ['sip', 'tls', hasCert ? 'key' : 'cert'], message: 'sip.tls.cert and sip.tls.key go together: give both, or neither (a self-signed certificate for loopback)' });
  const listen = Array.isArray(sip['listen']) ? sip['listen'] : ['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060'];
  const transports = new Set<string>();
  listen.forEach((url: unknown, i: number) => {
    if (typeof url !== 'string') return;
    const r = parseListenUrl(url);
    if (!r.ok) return;
    transports.add(r.spec.transport);
    if ((r.spec.transport === 'tls' || r.spec.transport === 'wss') && !hasCert && !LOOPBACK.test(r.spec.host)) {
      issues.push({ path: ['sip', 'listen', i], message: `a ${r.spec.transport}:// listener on ${r.spec.host} needs sip.tls.cert and sip.tls.key (a self-signed certificate is made only for loopback listeners)` });
    }
  });
  trunks.forEach((t: unknown, i: number) => {
    if (!isRecord(t)) return;
    if (typeof t['route'] === 'string') {
      const r = parseRoute(t['route']);
      if (r.ok && r.route.kind === 'carrier' && !transports.has(r.route.transport)) {
        issues.push({ path: ['trunks', i, 'route'], message: `a ${r.route.transport} route needs a ${r.route.transport}:// listener in sip.listen (it names our address in Via and Contact)` });
      }
    }
    if (t['secure'] === true && !transports.has('tls')) issues.push({ path: ['trunks', i, 'secure'], message: 'a secure trunk takes calls over TLS only: add a tls:// listener to sip.listen' });
    const uris = isRecord(t['origination']) && Array.isArray(t['origination']['uris']) ? t['origination']['uris'] : [];
    uris.forEach((u: unknown, j: number) => {
      if (!isRecord(u) || typeof u['uri'] !== 'string') return;
      const r = parseOriginationUri(u['uri']);
      // a secure trunk's inbound calls go over TLS whatever the URI says (SPEC §9)
      const transport = t['secure'] === true ? 'tls' : r.ok ? r.target.transport : undefined;
      if (transport !== undefined && !transports.has(transport)) {
        issues.push({ path: ['trunks', i, 'origination', 'uris', j, 'uri'], message: `a ${transport} origination URI needs a ${transport}:// listener in sip.listen (it names our address in Via and Contact)` });
      }
    });
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
export type OriginationConfig = TrunkConfig['origination'];
export type AccountNumberConfig = AccountConfig['numbers'][number];
export type PstnConfig = Config['pstn'];
export type PstnRule = PstnConfig['rules'][number];
export type Behaviour = (typeof BEHAVIOURS)[number];
export type VoiceConfig = Config['voice'];
export type SecurityConfig = Config['security'];
export type LimitsConfig = Config['limits'];
export type ObservabilityConfig = Config['observability'];
export type ClientConfig = AccountConfig['clients'][number];
