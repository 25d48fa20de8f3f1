/**
 * Whether a trunk takes a transfer, and to where (SPEC §9; RFC 3515): the
 * provider's rules for an in-dialog REFER, as a value. Compiled once per
 * trunk (its `transferMode`, `transferCallerId` and the termination domain),
 * asked for each REFER, changing nothing.
 *
 *  - `disable-all` (the default): every REFER → `403 Forbidden`, alert 32218.
 *  - `enable-all`: transfers to SIP destinations and to the PSTN.
 *  - `sip-only`: transfers to SIP destinations; a PSTN target → 403, 32218.
 *
 * A PSTN target is `tel:+E164` or `sip:+E164@<trunk>.pstn[.<edge>].twilio.com`
 * (any termination host); any other SIP URI is a SIP destination, reached
 * over a real INVITE (its host an IP address or `localhost`: trunkgate does
 * no DNS). Only blind transfers exist (the provider's docs): a Refer-To with
 * `?Replaces=` (an attended transfer), or a `method` other than INVITE, is
 * refused like a disabled transfer.
 */
import { isIP } from 'node:net';
import type { TransferMode } from '../config/schema.js';
import { isE164 } from '../numbers/number-patterns.js';
import { type SipRequest, bareHost, parseNameAddr, parseUri, splitList, unescapeUriPart } from '../sip/message/index.js';
import { DEFAULT_PORT, TRANSPORT_NAMES, type TransportName } from '../sip/transport/listen-url.js';

export type TransferTarget =
  | { kind: 'pstn'; /** E.164 */ number: string; uri: string }
  | { kind: 'sip'; uri: string; /** The user part, unescaped; undefined for `sip:host`. */ user: string | undefined; transport: TransportName; address: string; port: number };

export type TransferCallerId = 'from-transferee' | 'from-transferor';

export type ReferDecision =
  | {
      ok: true;
      target: TransferTarget;
      /** The REFER's Referred-By (RFC 3892), passed on to a SIP target's INVITE. */
      referredBy: string | undefined;
      /** `Refer-Sub: false` (RFC 4488): no implicit subscription, no NOTIFYs. */
      noSubscription: boolean;
    }
  | {
      ok: false;
      status: number;
      reason: string;
      /** 32218 when the provider's rules refuse the transfer; none for a malformed REFER. */
      alert: 32218 | undefined;
      /** What was wrong, for the alert's detail and the log. */
      detail: string;
    };

/** Transfers to these numbers are not supported by the provider (its docs: 911 and 933). */
const EMERGENCY = new Set(['911', '933', '+1911', '+1933']);

export class TransferPolicy {
  private readonly suffixFirst: string;
  private readonly suffixRest: string;

  constructor(
    readonly mode: TransferMode,
    readonly callerId: TransferCallerId,
    domainSuffix: string,
  ) {
    const suffix = domainSuffix.toLowerCase();
    const dot = suffix.indexOf('.');
    this.suffixFirst = suffix.slice(0, dot);
    this.suffixRest = suffix.slice(dot + 1);
  }

  /** A termination host, `<x>.pstn.twilio.com` or `<x>.pstn.<edge>.twilio.com`: a Refer-To there is a PSTN transfer. */
  isTerminationHost(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    const parts = h.split('.');
    const first = this.suffixFirst;
    const rest = this.suffixRest.split('.');
    if (parts.length < 2 + rest.length) return false;
    if (parts[1] !== first) return false;
    const tail = parts.slice(parts.length - rest.length);
    if (tail.join('.') !== rest.join('.')) return false;
    // nothing, or one edge label, between the suffix's first label and the rest
    return parts.length - rest.length - 2 <= 1;
  }

  decide(req: SipRequest): ReferDecision {
    if (this.mode === 'disable-all') return refuse('transfers are disabled on this trunk (transferMode: disable-all)');
    const values: string[] = [];
    for (const v of req.headers.getAll('refer-to')) splitList(v, values);
    if (values.length !== 1) return bad(values.length === 0 ? 'Missing Refer-To' : 'More than one Refer-To', 'a REFER carries exactly one Refer-To (RFC 3515 §2.4.1)');
    const na = parseNameAddr(values[0] as string);
    if (!na.ok || na.value.wildcard) return bad('Bad Refer-To', `Refer-To is not an address: ${na.ok ? '*' : na.reason}`);
    const parsed = parseUri(na.value.uri);
    if (!parsed.ok) return bad('Bad Refer-To', `Refer-To: ${parsed.reason}`);
    const uri = parsed.uri;
    const method = uri.params.get('method');
    if (typeof method === 'string' && method.toUpperCase() !== 'INVITE') return refuse(`Refer-To asks for ${method.toUpperCase()}: only transfers (INVITE) are supported`);
    if (uri.headers !== undefined && /(^|&)replaces=/i.test(uri.headers)) return refuse('Refer-To has Replaces: only blind transfers are supported, not attended ones');
    let target: TransferTarget;
    if (uri.scheme === 'tel') {
      const number = (uri.user ?? '').replace(/[-.()]/g, '');
      if (EMERGENCY.has(number)) return refuse(`transfers to ${number} are not supported`);
      if (!isE164(number)) return bad('Bad Refer-To', `Refer-To ${na.value.uri}: not an E.164 number`);
      target = { kind: 'pstn', number, uri: na.value.uri };
    } else if (uri.scheme === 'sip' || uri.scheme === 'sips') {
      const user = uri.user === undefined ? undefined : unescapeUriPart(uri.user);
      if (this.isTerminationHost(bareHost(uri.host))) {
        const number = user ?? '';
        if (EMERGENCY.has(number)) return refuse(`transfers to ${number} are not supported`);
        if (!isE164(number)) return bad('Bad Refer-To', `Refer-To ${na.value.uri}: a transfer to the PSTN names an E.164 number`);
        target = { kind: 'pstn', number, uri: na.value.uri };
      } else {
        const host = bareHost(uri.host);
        const address = host === 'localhost' ? '127.0.0.1' : host;
        if (isIP(address) === 0) return bad('Bad Refer-To', `Refer-To ${na.value.uri}: the host must be an IP address (trunkgate does no DNS lookups)`);
        const t = uri.scheme === 'sips' ? 'tls' : (uri.params.get('transport') ?? 'udp').toLowerCase();
        if (!(TRANSPORT_NAMES as readonly string[]).includes(t)) return bad('Bad Refer-To', `Refer-To ${na.value.uri}: unknown transport ${t}`);
        const transport = t as TransportName;
        target = { kind: 'sip', uri: na.value.uri, user, transport, address, port: uri.port ?? DEFAULT_PORT[transport] };
      }
    } else {
      return bad('Bad Refer-To', `Refer-To ${na.value.uri}: expected a sip:, sips: or tel: URI`);
    }
    if (target.kind === 'pstn' && this.mode === 'sip-only') return refuse('transfers to the PSTN are not enabled on this trunk (transferMode: sip-only)');
    const referSub = req.headers.get('refer-sub');
    return { ok: true, target, referredBy: req.headers.get('referred-by'), noSubscription: referSub !== undefined && referSub.trim().toLowerCase() === 'false' };
  }
}

function refuse(detail: string): ReferDecision {
  return { ok: false, status: 403, reason: 'Forbidden', alert: 32218, detail };
}

function bad(reason: string, detail: string): ReferDecision {
  return { ok: false, status: 400, reason, alert: undefined, detail };
}
