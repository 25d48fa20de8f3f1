/**
 * SIP requests and responses (RFC 3261 §7). Header values are parsed on first
 * read and cached against the raw string they came from, so a header that is
 * changed later is parsed again.
 */
import { SipHeaders } from './headers.js';
import { type CSeq, parseCSeq } from './cseq.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { type SipUri, parseUri } from './uri.js';
import { type Via, parseVia } from './via.js';
import { splitList } from './syntax.js';

/** The transports trunkgate speaks; each has its module in `sip/transport/` (registered in `protocols.ts`). */
export const TRANSPORT_NAMES = ['udp', 'tcp', 'tls', 'ws', 'wss'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

/** Where a received message came from. Filled in by the transport layer. */
export interface MessageSource {
  /** Lower-case transport name. */
  transport: TransportName;
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  /** Local address and port the message arrived on. */
  localAddress: string;
  localPort: number;
  /** For connection-oriented transports, the connection it arrived on. */
  connectionId: number | undefined;
  /** performance.now() when it arrived (for latency histograms). */
  receivedAt?: number;
}

interface Cached<T> {
  raw: string;
  value: T | undefined;
}

const EMPTY = Buffer.alloc(0);

abstract class SipMessageBase {
  readonly headers: SipHeaders;
  body: Buffer;
  /** Set by the transport for received messages. */
  source: MessageSource | undefined = undefined;

  private viaCache: Cached<Via> | undefined;
  private cseqCache: Cached<CSeq> | undefined;
  private fromCache: Cached<NameAddr> | undefined;
  private toCache: Cached<NameAddr> | undefined;

  constructor(headers?: SipHeaders, body?: Buffer) {
    this.headers = headers ?? new SipHeaders();
    this.body = body ?? EMPTY;
  }

  abstract readonly isRequest: boolean;

  /** Call-ID, or '' when missing. */
  get callId(): string {
    return this.headers.get('call-id') ?? '';
  }

  /** The first (top) Via, parsed; undefined when missing or malformed. */
  get topVia(): Via | undefined {
    const raw = this.topViaRaw;
    if (raw === undefined) return undefined;
    const c = this.viaCache;
    if (c !== undefined && c.raw === raw) return c.value;
    const r = parseVia(raw);
    const value = r.ok ? r.via : undefined;
    this.viaCache = { raw, value };
    return value;
  }

  /** The raw text of the top Via element (the first comma element of the first Via line). */
  get topViaRaw(): string | undefined {
    const first = this.headers.get('via');
    if (first === undefined) return undefined;
    if (first.indexOf(',') === -1) return first;
    const parts: string[] = [];
    splitList(first, parts);
    return parts[0];
  }

  get cseq(): CSeq | undefined {
    const raw = this.headers.get('cseq');
    if (raw === undefined) return undefined;
    const c = this.cseqCache;
    if (c !== undefined && c.raw === raw) return c.value;
    const r = parseCSeq(raw);
    const value = r.ok ? r.cseq : undefined;
    this.cseqCache = { raw, value };
    return value;
  }

  get from(): NameAddr | undefined {
    const raw = this.headers.get('from');
    if (raw === undefined) return undefined;
    const c = this.fromCache;
    if (c !== undefined && c.raw === raw) return c.value;
    const r = parseNameAddr(raw);
    const value = r.ok ? r.value : undefined;
    this.fromCache = { raw, value };
    return value;
  }

  get to(): NameAddr | undefined {
    const raw = this.headers.get('to');
    if (raw === undefined) return undefined;
    const c = this.toCache;
    if (c !== undefined && c.raw === raw) return c.value;
    const r = parseNameAddr(raw);
    const value = r.ok ? r.value : undefined;
    this.toCache = { raw, value };
    return value;
  }

  get fromTag(): string | undefined {
    return this.from?.params.get('tag') ?? undefined;
  }

  get toTag(): string | undefined {
    return this.to?.params.get('tag') ?? undefined;
  }

  /** Every Via element, parsed; an element that fails to parse is left out. */
  get vias(): Via[] {
    const out: Via[] = [];
    for (const raw of this.headers.getAll('via')) {
      const r = parseVia(raw);
      if (r.ok) out.push(r.via);
    }
    return out;
  }

  /** Content-Type without parameters, lower-cased; undefined when absent. */
  get contentType(): string | undefined {
    const raw = this.headers.get('content-type');
    if (raw === undefined) return undefined;
    const semi = raw.indexOf(';');
    return (semi === -1 ? raw : raw.slice(0, semi)).trim().toLowerCase();
  }

  /** Option tags of a list header such as Supported or Require, lower-cased. */
  optionTags(name: 'supported' | 'require' | 'proxy-require' | 'unsupported'): string[] {
    return this.headers.getAll(name).map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0);
  }
}

export class SipRequest extends SipMessageBase {
  readonly isRequest = true as const;
  method: string;
  /** The Request-URI as written. */
  uri: string;
  private uriCache: Cached<SipUri> | undefined;

  constructor(method: string, uri: string, headers?: SipHeaders, body?: Buffer) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  /** The Request-URI, parsed; undefined when malformed. */
  get requestUri(): SipUri | undefined {
    const raw = this.uri;
    const c = this.uriCache;
    if (c !== undefined && c.raw === raw) return c.value;
    const r = parseUri(raw);
    const value = r.ok ? r.uri : undefined;
    this.uriCache = { raw, value };
    return value;
  }
}

export class SipResponse extends SipMessageBase {
  readonly isRequest = false as const;
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers?: SipHeaders, body?: Buffer) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }
}

export type SipMessage = SipRequest | SipResponse;
