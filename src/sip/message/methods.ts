/**
 * The SIP methods we know (RFC 3261 §27.4 and the extensions registered
 * since), the status classes, and the `kind` of a message: its method or its
 * status class, a closed set fit for a metric label.
 */

/** Every standard method: RFC 3261 plus RFC 3262, 3265, 3311, 3428, 3515, 3903, 6086. */
export const SIP_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH'] as const;
export type SipMethod = (typeof SIP_METHODS)[number];

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** A message's kind: a standard method, `other` for any other method, or the status class of a response. */
export type MessageKind = SipMethod | 'other' | StatusClass;

export const MESSAGE_KINDS: readonly MessageKind[] = [...SIP_METHODS, 'other', ...STATUS_CLASSES];

const METHOD_SET: ReadonlySet<string> = new Set(SIP_METHODS);

export function isStandardMethod(method: string): method is SipMethod {
  return METHOD_SET.has(method);
}

/** The status class of a status code: `1xx` … `6xx`. */
export function statusClass(status: number): StatusClass {
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

/** The kind of a method: itself when standard, else `other` (labels stay a closed set). */
export function methodKind(method: string): SipMethod | 'other' {
  return isStandardMethod(method) ? method : 'other';
}

/**
 * The kind of a serialized message, read from its first bytes (a response
 * starts `SIP/2.0 NNN`, a request with its method): what a retransmission of
 * stored bytes is counted as.
 */
export function wireKind(wire: Buffer): MessageKind {
  // "SIP/2.0 " is 8 bytes; the status code's first digit follows
  if (wire.length > 9 && wire[0] === 0x53 && wire[3] === 0x2f && wire[7] === 0x20) return statusClass(((wire[8] as number) - 0x30) * 100);
  const space = wire.indexOf(0x20);
  if (space <= 0 || space > 16) return 'other';
  return methodKind(wire.toString('latin1', 0, space));
}

const CANONICAL_CALL_ID = Buffer.from('\r\nCall-ID: ', 'latin1');
const CALL_ID_LINE = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i;

/**
 * The Call-ID of serialized message bytes ('' when there is none), read from
 * the header section without parsing the message: for bytes sent again
 * (retransmissions), where no parsed message is at hand.
 */
export function wireCallId(wire: Buffer): string {
  // bytes we serialized ourselves spell it `Call-ID: ` (serializeMessage): a native search finds it
  const at = wire.indexOf(CANONICAL_CALL_ID);
  if (at !== -1) {
    const start = at + CANONICAL_CALL_ID.length;
    const eol = wire.indexOf('\r\n', start);
    const headerEnd = wire.indexOf('\r\n\r\n');
    if (eol !== -1 && (headerEnd === -1 || at < headerEnd)) return wire.toString('latin1', start, eol).trim();
  }
  let end = wire.indexOf('\r\n\r\n');
  if (end === -1) end = wire.length;
  const m = CALL_ID_LINE.exec(wire.toString('latin1', 0, end));
  return m === null ? '' : (m[1] as string).trim();
}
