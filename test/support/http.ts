/**
 * Talk to a gateway's HTTP side over a real socket (Node's fetch), and read
 * samples out of the Prometheus text it serves.
 */
import type { Gateway } from '../../src/gateway.js';

export interface HttpReply<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the reply is JSON, else undefined. */
  json: T;
  text: string;
}

export interface AdminClient {
  base: string;
  request<T = unknown>(
    method: string,
    path: string,
    /** `contentType: null`: send none (state-changing requests get `application/json` by default, as the API requires). */
    options?: { body?: unknown; raw?: string; contentType?: string | null; headers?: Record<string, string> },
  ): Promise<HttpReply<T>>;
  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<HttpReply<T>>;
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpReply<T>>;
  del<T = unknown>(path: string, headers?: Record<string, string>): Promise<HttpReply<T>>;
  /** GET /metrics as text. */
  metrics(): Promise<string>;
}

/** A client for a started gateway's HTTP server (or any base URL). */
export function adminClient(target: Gateway | string, defaultHeaders: Record<string, string> = {}): AdminClient {
  const base = (): string => {
    if (typeof target === 'string') return target;
    const addr = target.httpAddress;
    if (addr === undefined) throw new Error('the gateway has no HTTP server');
    return `http://${addr.host}:${addr.port}`;
  };
  const request = async <T>(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; contentType?: string | null; headers?: Record<string, string> } = {},
  ): Promise<HttpReply<T>> => {
    const headers: Record<string, string> = { ...defaultHeaders, ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (options.contentType !== null && (body !== undefined || (method !== 'GET' && method !== 'HEAD'))) {
      headers['content-type'] ??= options.contentType ?? 'application/json';
    }
    const res = await fetch(base() + path, { method, headers, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('application/json') && text.length > 0) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, json: json as T, text };
  };
  return {
    get base() {
      return base();
    },
    request,
    get: (path, headers) => request('GET', path, { headers: headers ?? {} }),
    post: (path, body, headers) => request('POST', path, { body, headers: headers ?? {} }),
    del: (path, headers) => request('DELETE', path, { headers: headers ?? {} }),
    async metrics() {
      const r = await request('GET', '/metrics');
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.text}`);
      return r.text;
    },
  };
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of a Prometheus text exposition. */
export function parseSamples(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name and exactly these labels; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  // every series carries the gateway's `instance` label: it counts only when the caller names it
  const counted = (s: { labels: Record<string, string> }): number => Object.keys(s.labels).filter((k) => k !== 'instance' || 'instance' in labels).length;
  const found = parseSamples(text).filter((s) => s.name === name && counted(s) === wanted.length && wanted.every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
