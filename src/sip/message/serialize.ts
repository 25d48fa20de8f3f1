/** Serialization of messages to wire bytes (RFC 3261 §7). */
import { type SipMessage } from './sip-message.js';

/**
 * Serialize a message. Content-Length is always written from the body (any
 * Content-Length header already present is replaced), so framing is correct
 * on stream transports.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  let head = msg.isRequest ? `${msg.method} ${msg.uri} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  const h = msg.headers;
  const names = h.names;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === 'content-length') continue;
    head += h.wireNames[i] + ': ' + h.values[i] + '\r\n';
  }
  head += 'Content-Length: ' + msg.body.length + '\r\n\r\n';
  if (msg.body.length === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLen);
  return out;
}
