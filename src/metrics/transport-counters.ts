/**
 * Counts what the transport layer reports through its events: messages in
 * and out by transport and kind, malformed messages, connection events,
 * keep-alives and requests dropped by per-source rate limiting. Plain numbers on the hot path; the metrics read them when
 * scraped.
 */
import type { ConnectionEvent, Direction, TransportEvents } from '../sip/transport/index.js';
import type { MessageKind, TransportName } from '../sip/message/index.js';

export class TransportCounters {
  /** direction → transport → kind → count */
  readonly messages: Record<Direction, Map<TransportName, Map<MessageKind, number>>> = { in: new Map(), out: new Map() };
  readonly parseErrors = new Map<TransportName, number>();
  /** Malformed requests answered with a 4xx/5xx, and malformed messages dropped. */
  rejected = 0;
  dropped = 0;
  readonly connections = new Map<TransportName, Map<ConnectionEvent, number>>();
  readonly keepAlives = new Map<TransportName, number>();
  /** Requests dropped by per-source rate limiting. */
  readonly sourceLimited = new Map<TransportName, number>();

  constructor(events: TransportEvents) {
    events.on('message', (direction, transport, kind) => {
      const byTransport = this.messages[direction];
      let m = byTransport.get(transport);
      if (m === undefined) {
        m = new Map();
        byTransport.set(transport, m);
      }
      m.set(kind, (m.get(kind) ?? 0) + 1);
    });
    events.on('badMessage', (transport, outcome) => {
      bump(this.parseErrors, transport);
      if (outcome === 'rejected') this.rejected++;
      else this.dropped++;
    });
    events.on('connection', (transport, event) => {
      let m = this.connections.get(transport);
      if (m === undefined) {
        m = new Map();
        this.connections.set(transport, m);
      }
      bump(m, event);
    });
    events.on('keepAlive', (transport) => bump(this.keepAlives, transport));
    events.on('sourceLimited', (transport) => bump(this.sourceLimited, transport));
  }

  /** Messages of one kind sent (or received) over a transport. */
  count(direction: Direction, transport: TransportName, kind: MessageKind): number {
    return this.messages[direction].get(transport)?.get(kind) ?? 0;
  }

  connectionEvents(transport: TransportName, event: ConnectionEvent): number {
    return this.connections.get(transport)?.get(event) ?? 0;
  }
}

function bump<K>(m: Map<K, number>, key: K): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}
