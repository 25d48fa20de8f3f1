/**
 * `X-Twilio-Signature` (research/twilio-voice-facts.md §2.2): base64 of
 * HMAC-SHA1, keyed with the account's auth token, over the full URL (with its
 * query string) followed, for a POST, by every parameter's name and value
 * sorted by name (case-sensitive, code-unit order). The URL is signed exactly
 * as configured, so the SDK's `validateRequest` accepts it with or without a
 * default port.
 */
import { createHmac } from 'node:crypto';

export function twilioSignature(authToken: string, url: string, params: Readonly<Record<string, string>> = {}): string {
  const names = Object.keys(params).sort();
  let data = url;
  for (const name of names) data += name + (params[name] as string);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}
