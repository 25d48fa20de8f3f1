/**
 * The official `twilio` Node SDK, pointed at a local server instead of https://api.twilio.com.
 *
 * How it works (twilio 5.x, lib/base/BaseTwilio.js + lib/base/RequestClient.js): every resource builds an
 * absolute URL on the domain's fixed base (`https://api.twilio.com` for the 2010 API), `Client.request()`
 * only rewrites the hostname for `edge`/`region`, then hands `{ method, uri, username, password, headers,
 * params, data }` to `opts.httpClient.request()`. We pass a RequestClient subclass that swaps the origin
 * (scheme, host, port) for `baseUrl` and otherwise lets the SDK's own axios code send the request, so the
 * wire format (form encoding, repeated keys, Basic auth, User-Agent, Accept) is exactly the SDK's.
 * Paging follows `next_page_uri` through the same client, so paths in list envelopes must be relative.
 */
import http from 'node:http';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

export type TwilioCredentials =
  | { accountSid: string; authToken: string }
  /** API key auth: Basic auth is `apiKeySid:apiKeySecret`, the account SID is still in the path. */
  | { accountSid: string; apiKeySid: string; apiKeySecret: string };

export type TwilioClientOptions = TwilioCredentials & {
  /** e.g. `http://127.0.0.1:8080`; a path prefix (`http://host:port/twilio`) is kept in front of `/2010-04-01/…`. */
  baseUrl: string;
  /** Keep HTTP connections alive between requests (default false, so closing a test server never waits on idle sockets). */
  keepAlive?: boolean;
  /** Per-request timeout in ms (the SDK's default is 30 000). */
  timeout?: number;
  /** Let the SDK retry 429s with backoff (default false, as in the SDK). */
  autoRetry?: boolean;
  /** Extra `Client` options (logLevel, userAgentExtensions, …); `httpClient` is ours. */
  clientOptions?: Omit<twilio.ClientOpts, 'httpClient' | 'accountSid'>;
};

export interface TwilioTestClient {
  /** The real SDK client: `client.calls.create(…)`, `client.calls(sid).fetch()`, … */
  client: twilio.Twilio;
  /** The HTTP client in use: `lastRequest` / `lastResponse` show what the SDK sent and got. */
  http: LocalRequestClient;
  /** Destroy pooled sockets. */
  close(): void;
}

/** A twilio RequestClient that sends every request to `baseUrl`, keeping the path and query. */
export class LocalRequestClient extends twilio.RequestClient {
  readonly base: URL;
  readonly agent: http.Agent;

  constructor(baseUrl: string, options: RequestClient.RequestClientOptions & { keepAlive?: boolean } = {}) {
    super({ ...options, keepAlive: options.keepAlive ?? false });
    this.base = new URL(baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`baseUrl must be http(s): ${baseUrl}`);
    // The SDK only configures an https agent; give plain-http requests our own so close() can drop its sockets.
    this.agent = new http.Agent({ keepAlive: options.keepAlive ?? false });
    this.axios.defaults.httpAgent = this.agent;
  }

  /** The URL the request really goes to. */
  rewrite(uri: string): string {
    const original = new URL(uri);
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${original.pathname}${original.search}`;
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: this.rewrite(opts.uri) });
  }
}

/** An SDK client whose requests go to `baseUrl` with the given credentials. */
export function twilioClient(options: TwilioClientOptions): TwilioTestClient {
  const httpClient = new LocalRequestClient(options.baseUrl, {
    keepAlive: options.keepAlive ?? false,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.autoRetry !== undefined ? { autoRetry: options.autoRetry } : {}),
  });
  const [username, password] = 'authToken' in options ? [options.accountSid, options.authToken] : [options.apiKeySid, options.apiKeySecret];
  const client = twilio(username, password, {
    ...options.clientOptions,
    // An empty env keeps TWILIO_EDGE / TWILIO_REGION / TWILIO_LOG_LEVEL of the machine out of the test.
    env: options.clientOptions?.env ?? {},
    accountSid: options.accountSid,
    httpClient,
  });
  return { client, http: httpClient, close: () => httpClient.agent.destroy() };
}

/** What a call resource method throws for a non-2xx JSON reply `{code, message, more_info, status}`. */
export type TwilioRestException = InstanceType<typeof twilio.RestException>;

export function isRestException(error: unknown): error is TwilioRestException {
  return error instanceof twilio.RestException;
}
