/**
 * Counters kept by the transport layer. Plain numbers on the hot path; the
 * metrics layer reads them when scraped.
 */
import type { TransportName } from './listen-url.js';

export type Direction = 'in' | 'out';

export class TransportStats {
  /** direction → transport → kind (method, or status class like `2xx`) → count */
  readonly messages: Record<Direction, Record<TransportName, Map<string, number>>> = {
    in: { udp: new Map(), tcp: new Map() },
    out: { udp: new Map(), tcp: new Map() },
  };
  /** Messages that could not be parsed or failed validation, by transport. */
  readonly parseErrors: Record<TransportName, number> = { udp: 0, tcp: 0 };
  /** Bad messages answered with a 4xx/5xx, and bad ones dropped silently. */
  rejected = 0;
  dropped = 0;
  /** TCP connections accepted and opened, and those closed for idleness or errors. */
  tcpAccepted = 0;
  tcpConnected = 0;
  tcpIdleClosed = 0;
  /** Connections closed because a message did not finish in time (slowloris). */
  tcpPartialTimeouts = 0;
  /** Inbound connections refused at the connection cap. */
  tcpRefused = 0;
  keepAlivePings = 0;

  count(direction: Direction, transport: TransportName, kind: string): void {
    const m = this.messages[direction][transport];
    m.set(kind, (m.get(kind) ?? 0) + 1);
  }
}

/** The `kind` label of a status code: `1xx` … `6xx`. */
export function statusClass(status: number): string {
  switch (Math.floor(status / 100)) {
    case 1:
      return '1xx';
    case 2:
      return '2xx';
    case 3:
      return '3xx';
    case 4:
      return '4xx';
    case 5:
      return '5xx';
    default:
      return '6xx';
  }
}

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH',
]);

/** The `kind` label of a method: the method when it is a standard one, else `other` (labels stay a closed set). */
export function methodKind(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}
