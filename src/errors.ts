/**
 * Every error the HTTP API or the command line can return (STYLE: one
 * catalogue, like fastify's FST_ERR_* and undici's UND_ERR_*): a stable code,
 * the HTTP status it is served with, and a message that says what to fix.
 * docs/http-api.md lists them; a test checks it against this table.
 */

interface Entry<A extends unknown[]> {
  /** The `code` in the JSON body (the provider's own number where it has one). */
  code: string | number;
  /** HTTP status; for errors only the command line meets, the status it would have. */
  status: number;
  /** Where the error comes from: `http` (the admin API), `cli` (start-up), or both. */
  surface: 'http' | 'cli' | 'both';
  /** When it happens (for the docs). */
  when: string;
  message: (...args: A) => string;
}

function entry<A extends unknown[]>(e: Entry<A>): Entry<A> {
  return e;
}

export const ERRORS = {
  BAD_BODY: entry({
    code: 'BAD_BODY',
    status: 400,
    surface: 'http',
    when: 'the body is not JSON, empty while JSON is announced, not an object, or a field is wrong (the message names each one)',
    message: (problems: string, example?: string) => `body: ${problems}${example === undefined ? '' : `; ${example}`}`,
  }),
  BAD_SINCE: entry({
    code: 'BAD_SINCE',
    status: 400,
    surface: 'http',
    when: '`GET /v1/alerts?since=` is neither a sequence number nor an ISO-8601 time',
    message: (problems: string) => problems,
  }),
  UNAUTHORIZED: entry({
    code: 'UNAUTHORIZED',
    status: 401,
    surface: 'http',
    when: '`/v1` (and `/metrics` with `http.metricsRequireToken`) without the right bearer token',
    message: () => 'send "Authorization: Bearer <http.token>"',
  }),
  CPS_CHANGE_NOT_ALLOWED: entry({
    code: 21251,
    status: 403,
    surface: 'http',
    when: "the Console refuses a CPS change (the account-type rules); the provider's error 21251",
    message: (why: string) => `Trunking CPS change not allowed: ${why}`,
  }),
  TRUNK_NOT_FOUND: entry({
    code: 'TRUNK_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: 'no trunk of that name',
    message: (name: string) => `no trunk named "${name}"; GET /v1/trunks lists them`,
  }),
  CALL_NOT_FOUND: entry({
    code: 'CALL_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: 'no active call with that id',
    message: (id: string) => `no active call "${id}"; GET /v1/calls lists them`,
  }),
  ACCOUNT_NOT_FOUND: entry({
    code: 'ACCOUNT_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: 'no account of that name (the /v1 voice queue views)',
    message: (name: string) => `no account named "${name}"; GET /v1/voice/queues lists them`,
  }),
  NOT_FOUND: entry({
    code: 'NOT_FOUND',
    status: 404,
    surface: 'http',
    when: 'no such route (or method)',
    message: (method: string, url: string) => `no route ${method} ${url}; see docs/http-api.md`,
  }),
  RELOAD_UNAVAILABLE: entry({
    code: 'RELOAD_UNAVAILABLE',
    status: 409,
    surface: 'http',
    when: 'the gateway was started without a configuration source (embedded use); the CLI always has one',
    message: () => 'this gateway was started without a configuration source to reload',
  }),
  BODY_TOO_LARGE: entry({
    code: 'BODY_TOO_LARGE',
    status: 413,
    surface: 'http',
    when: 'a body over 16 KiB',
    message: (limitBytes: number) => `the body is larger than ${limitBytes} bytes; send a smaller one`,
  }),
  UNSUPPORTED_MEDIA_TYPE: entry({
    code: 'UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    surface: 'http',
    when: 'a state-changing request (POST, PUT, PATCH, DELETE) without `Content-Type: application/json`, even with no body: a web page cannot send that cross-site without a CORS preflight, which is never granted',
    message: (type: string) => `Content-Type ${type} is not taken here; send -H 'Content-Type: application/json' (a body, if any, is JSON)`,
  }),
  HOST_NOT_ALLOWED: entry({
    code: 'HOST_NOT_ALLOWED',
    status: 403,
    surface: 'http',
    when: "the `Host` header names neither the listener's address (or `localhost` on loopback, any IP address on a wildcard listener) nor one of `http.allowedHosts`: a DNS-rebinding defence; `/healthz` and `/readyz` are exempt",
    message: (host: string) => `Host "${host}" does not name this server; use its address (http.listen), or add the name to http.allowedHosts`,
  }),
  ORIGIN_NOT_ALLOWED: entry({
    code: 'ORIGIN_NOT_ALLOWED',
    status: 403,
    surface: 'http',
    when: 'a browser sent an `Origin` other than the server\'s own (`http://` + the Host): a web page of another site cannot drive or read the API',
    message: (origin: string) => `requests from the web page at ${origin} are refused; use curl, or open the API at its own address`,
  }),
  BAN_NOT_FOUND: entry({
    code: 'BAN_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: '`DELETE /v1/security/bans/{kind}/{value}`: no ban in force on that source or username (or the kind is neither `source` nor `username`)',
    message: (kind: string, value: string) => `no ban in force on ${kind} "${value}"; GET /v1/security/bans lists them (kinds: source, username)`,
  }),
  CONFIG_INVALID: entry({
    code: 'CONFIG_INVALID',
    status: 422,
    surface: 'both',
    when: 'the configuration has problems (`details` lists each with its path); on reload nothing changed, at start-up the gateway does not start (exit 1)',
    message: (count: number, where: string) => `the configuration has ${count} problem(s) (${where}); fix them and try again`,
  }),
  LIMIT_STORE_UNAVAILABLE: entry({
    code: 'LIMIT_STORE_UNAVAILABLE',
    status: 503,
    surface: 'http',
    when: 'limits.store is a Redis that cannot be reached right now: a Console CPS change is kept there, so it cannot be made (try again once GET /readyz shows the store ready)',
    message: (what: string) => `the shared limit store (limits.store) cannot be reached: ${what}; try again once GET /readyz shows it ready`,
  }),
  INTERNAL: entry({
    code: 'INTERNAL',
    status: 500,
    surface: 'both',
    when: 'a bug; see the gateway log',
    message: () => 'internal error (see the gateway log)',
  }),
  SIP_LISTEN_IN_USE: entry({
    code: 'SIP_LISTEN_IN_USE',
    status: 500,
    surface: 'cli',
    when: 'a SIP listen address is taken (start-up, exit 1)',
    message: (url: string, _reason: string) =>
      `cannot listen on ${url}: the address is already in use (another SIP server, or another trunkgate, is running there). Stop it or choose another address with --sip-listen.`,
  }),
  SIP_LISTEN_UNAVAILABLE: entry({
    code: 'SIP_LISTEN_UNAVAILABLE',
    status: 500,
    surface: 'cli',
    when: 'a SIP listen address is not on this machine (start-up, exit 1)',
    message: (url: string, _reason: string) => `cannot listen on ${url}: that address is not on this machine. Choose one of its addresses with --sip-listen.`,
  }),
  SIP_LISTEN_DENIED: entry({
    code: 'SIP_LISTEN_DENIED',
    status: 500,
    surface: 'cli',
    when: 'binding a SIP port needs privileges (start-up, exit 1)',
    message: (url: string, _reason: string) => `cannot listen on ${url}: permission denied (ports below 1024 need privileges). Choose a port above 1023 with --sip-listen.`,
  }),
  SIP_LISTEN_FAILED: entry({
    code: 'SIP_LISTEN_FAILED',
    status: 500,
    surface: 'cli',
    when: 'any other failure to bind a SIP listener (start-up, exit 1)',
    message: (url: string, reason: string) => `cannot listen on ${url}: ${reason}`,
  }),
  HTTP_LISTEN_IN_USE: entry({
    code: 'HTTP_LISTEN_IN_USE',
    status: 500,
    surface: 'cli',
    when: 'the HTTP listen address is taken (start-up, exit 1)',
    message: (url: string) => `cannot listen on ${url}: the address is already in use. Choose another with --http-listen or http.listen.`,
  }),
  HTTP_LISTEN_FAILED: entry({
    code: 'HTTP_LISTEN_FAILED',
    status: 500,
    surface: 'cli',
    when: 'any other failure to bind the HTTP listener (start-up, exit 1)',
    message: (url: string, reason: string) => `cannot listen on ${url}: ${reason}`,
  }),
  TLS_FILE_UNREADABLE: entry({
    code: 'TLS_FILE_UNREADABLE',
    status: 500,
    surface: 'cli',
    when: 'a PEM file named by sip.tls cannot be read (start-up, exit 1)',
    message: (key: string, path: string, reason: string) => `${key}: cannot read ${path} (${reason}); give the path of a PEM file trunkgate can read`,
  }),
  MESSAGES_NOT_FOUND: entry({
    code: 'MESSAGES_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: '`GET /v1/calls/{id}/messages` or `/pcap` for a call the message store does not hold (never seen, evicted, or the store is off)',
    message: (id: string, maxCalls: number) =>
      maxCalls === 0
        ? `no messages for "${id}": the message store is off (observability.messageStore.maxCalls is 0)`
        : `no messages for "${id}": not one of the last ${maxCalls} calls; give our call id (CA…) or the SIP Call-ID of either leg (GET /v1/status lists recent calls)`,
  }),
  USAGE: entry({
    code: 'USAGE',
    status: 400,
    surface: 'cli',
    when: 'the command line is wrong (an unknown option, a missing argument, a bad value; exit 2)',
    message: (problem: string, command: string = 'trunkgate') => `${problem}; see ${command} --help`,
  }),
  CONFIG_UNREADABLE: entry({
    code: 'CONFIG_UNREADABLE',
    status: 400,
    surface: 'cli',
    when: 'the file given to `--config` or `check-config` cannot be read (missing, a folder, no permission); a usage error, exit 2',
    message: (path: string, reason: string) => `cannot read the configuration file ${path}: ${reason}`,
  }),
  CONFIG_WARNINGS: entry({
    code: 'CONFIG_WARNINGS',
    status: 422,
    surface: 'cli',
    when: '`check-config --strict`: the file is valid but has warnings (a trunk that refuses every call, no trunks, a CIDR with host bits set); exit 1',
    message: (count: number, where: string) => `the configuration has ${count} warning(s) (${where}) and --strict makes them fail`,
  }),
  SCENARIO_UNKNOWN: entry({
    code: 'SCENARIO_UNKNOWN',
    status: 400,
    surface: 'cli',
    when: '`trunkgate scenario NAME`: NAME is not in the pack (exit 2)',
    message: (name: string, known: string) => `unknown scenario "${name}"; the pack has: ${known}`,
  }),
  SCENARIO_FILE: entry({
    code: 'SCENARIO_FILE',
    status: 400,
    surface: 'cli',
    when: '`trunkgate scenario`: the `--numbers` file cannot be read, or the `--junit` file cannot be written (exit 2)',
    message: (option: string, path: string, reason: string) => `${option} ${path}: ${reason}`,
  }),
  SIPP_MISSING: entry({
    code: 'SIPP_MISSING',
    status: 500,
    surface: 'cli',
    when: '`trunkgate scenario`: SIPp is not on the PATH (exit 2)',
    message: () => 'SIPp is not installed: apt-get install sip-tester (Debian, Ubuntu), brew install sipp (macOS)',
  }),
  GATEWAY_UNREACHABLE: entry({
    code: 'GATEWAY_UNREACHABLE',
    status: 502,
    surface: 'cli',
    when: '`trunkgate scenario` and `trunkgate originate`: the admin API does not answer at `--http` (exit 2)',
    message: (url: string, reason: string) => `cannot reach ${url} (${reason}). Is the gateway running? Use --http HOST:PORT to point at its HTTP listener.`,
  }),
  ADMIN_TOKEN_NEEDED: entry({
    code: 'ADMIN_TOKEN_NEEDED',
    status: 401,
    surface: 'cli',
    when: '`trunkgate scenario` and `trunkgate originate`: the admin API answered 401: the gateway has `http.token` and `--token` is missing or wrong (exit 2)',
    message: (url: string, tokenGiven: boolean) =>
      tokenGiven
        ? `${url} refused the token (HTTP 401): pass the gateway's http.token with --token`
        : `${url} answered 401: the gateway has an admin token (http.token); pass it with --token TOKEN`,
  }),
  SCENARIO_NO_TRUNK: entry({
    code: 'SCENARIO_NO_TRUNK',
    status: 404,
    surface: 'cli',
    when: '`trunkgate scenario`: `--trunk` names no trunk of the gateway, or it has none (exit 2)',
    message: (wanted: string | undefined, have: string) =>
      wanted === undefined ? 'the gateway has no trunks; add one to its configuration' : `the gateway has no trunk "${wanted}" (it has: ${have}); choose one with --trunk`,
  }),
  SCENARIO_CREDENTIALS: entry({
    code: 'SCENARIO_CREDENTIALS',
    status: 400,
    surface: 'cli',
    when: '`trunkgate scenario digest-auth` without `--user`/`--password`, or against a trunk without credentials (exit 2)',
    message: (problem: string) => problem,
  }),
  ORIGINATION_RUN_NOT_FOUND: entry({
    code: 'ORIGINATION_RUN_NOT_FOUND',
    status: 404,
    surface: 'http',
    when: '`GET` or `DELETE /v1/origination/{id}`: no run with that id (never started, or forgotten: the last 100 finished runs are kept)',
    message: (id: string) => `no inbound load run "${id}"; GET /v1/origination lists them`,
  }),
  ORIGINATION_NO_NUMBERS: entry({
    code: 'ORIGINATION_NO_NUMBERS',
    status: 400,
    surface: 'http',
    when: '`POST /v1/origination` without `to`, on a trunk that has no numbers (`trunks[].origination.numbers`, or an account number with `trunk`)',
    message: (trunk: string) => `trunk "${trunk}" has no numbers to call: give "to", or add numbers to trunks[].origination.numbers`,
  }),
  ORIGINATION_NUMBER_ELSEWHERE: entry({
    code: 'ORIGINATION_NUMBER_ELSEWHERE',
    status: 400,
    surface: 'http',
    when: '`POST /v1/origination`: a `to` number is neither one of the trunk\'s numbers nor a number with a voice URL of the trunk\'s account',
    message: (number: string, trunk: string) => `${number} is not a number of trunk "${trunk}" (nor a number of its account with a voiceUrl): add it to trunks[].origination.numbers or accounts[].numbers`,
  }),
  ORIGINATION_TOO_MANY_RUNS: entry({
    code: 'ORIGINATION_TOO_MANY_RUNS',
    status: 429,
    surface: 'http',
    when: '`POST /v1/origination` while 10 runs are under way',
    message: (max: number) => `${max} inbound load runs are under way already: wait for one to finish, or stop one with DELETE /v1/origination/{id}`,
  }),
  ORIGINATION_UNAVAILABLE: entry({
    code: 'ORIGINATION_UNAVAILABLE',
    status: 503,
    surface: 'http',
    when: '`POST /v1/origination` while the gateway is draining or stopping',
    message: () => 'the gateway is shutting down: it places no new inbound calls',
  }),
  ORIGINATION_CUT_SHORT: entry({
    code: 'ORIGINATION_CUT_SHORT',
    status: 500,
    surface: 'cli',
    when: '`trunkgate originate`: the run was stopped before it placed all its calls (the gateway stopped, the trunk was removed by a reload, or someone stopped it) (exit 1)',
    message: (id: string, offered: number, calls: number, by: string) => `run ${id} was cut short (${by}) after ${offered} of ${calls} calls`,
  }),
  ORIGINATE_NOT_STARTED: entry({
    code: 'ORIGINATE_NOT_STARTED',
    status: 400,
    surface: 'cli',
    when: '`trunkgate originate`: the gateway refused to start the run (an unknown trunk, no numbers, a bad option value, too many runs); its own error follows (exit 2)',
    message: (trunk: string, status: number, said: string) => `the gateway did not start a run on trunk "${trunk}" (HTTP ${status}): ${said}`,
  }),
  ORIGINATE_NUMBERS_FILE: entry({
    code: 'ORIGINATE_NUMBERS_FILE',
    status: 400,
    surface: 'cli',
    when: '`trunkgate originate`: the `--numbers` file cannot be read, is empty, or has a line that is not an E.164 number (exit 2)',
    message: (path: string, reason: string) => `--numbers ${path}: ${reason}`,
  }),
} as const;

export type ErrorName = keyof typeof ERRORS;
type ArgsOf<N extends ErrorName> = Parameters<(typeof ERRORS)[N]['message']>;

/** An error from the catalogue, with its code, status and message made. */
export class TrunkgateError extends Error {
  readonly code: string | number;
  readonly status: number;

  constructor(
    readonly errorName: ErrorName,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'TrunkgateError';
    this.code = ERRORS[errorName].code;
    this.status = ERRORS[errorName].status;
  }

  /** The JSON body the HTTP API sends. */
  toJSON(): { code: string | number; message: string; details?: unknown } {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }
}

/** Make the catalogue's error `name` with its message's arguments. */
export function errorOf<N extends ErrorName>(name: N, ...args: ArgsOf<N>): TrunkgateError {
  const make = ERRORS[name].message as (...a: ArgsOf<N>) => string;
  return new TrunkgateError(name, make(...args));
}

/** The same, with details (a reload's problems). */
export function errorWithDetails<N extends ErrorName>(name: N, details: unknown, ...args: ArgsOf<N>): TrunkgateError {
  const make = ERRORS[name].message as (...a: ArgsOf<N>) => string;
  return new TrunkgateError(name, make(...args), details);
}

/** A result that is a value or a catalogued error: expected failures are values (STYLE). */
export type Result<T> = { ok: true; value: T } | { ok: false; error: TrunkgateError };
