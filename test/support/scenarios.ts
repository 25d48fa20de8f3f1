/**
 * SIPp scenarios for the PBX side of a call, generated from a few choices so
 * each test states its flow in one line. The XML is written to a temp file
 * and run with real SIPp.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PbxScenario {
  /** Request-URI host (the trunk's termination URI). Default demo.pstn.twilio.com. */
  domain?: string;
  /** Called number (Request-URI user). */
  number: string;
  /** Offered codecs by payload type, in order; [] sends no SDP (late offer). Default [0, 8]. */
  offer?: number[];
  /** Extra INVITE headers, e.g. ['Require: 100rel']. */
  headers?: string[];
  /** The final response the INVITE must get. */
  final: number;
  /** Exact reason phrase the final response must carry. */
  finalReason?: string;
  /** 1xx expected before the final: all optional unless listed in `requireProvisional`. */
  requireProvisional?: number[];
  /** After the answer (final 200): what the PBX does. */
  then?:
    | { kind: 'bye'; afterMs: number }
    | { kind: 'wait-bye' }
    | { kind: 'no-ack' }
    | { kind: 'glare' }
    | { kind: 'in-dialog'; methods: Array<'INVITE' | 'UPDATE' | 'INFO' | 'OPTIONS' | 'NOTIFY'>; expect: number[] };
  /** Send CANCEL this long after the provisional response (instead of waiting for the final). */
  cancelAfterMs?: number;
  /** Regular expressions the final response's headers must NOT match (e.g. /timer/ in Supported). */
  finalMustNotMatch?: Array<{ header: string; regexp: string }>;
  /** Regular expressions the final response's headers must match. */
  finalMustMatch?: Array<{ header: string; regexp: string }>;
  /** Regexp the final response's body must match (e.g. the chosen codec). */
  finalBodyMatch?: string;
  /** Ask for responses at the source port (RFC 3581 `;rport`), as most PBXs do; needed behind a relay or NAT. */
  rport?: boolean;
  /** Late offer: the ACK for the 200 carries an SDP answer with this codec (the 200 made the offer). */
  ackAnswer?: number;
  /** Offer SRTP: RTP/SAVP with an SDES key (a=crypto, RFC 4568), as a secure trunk wants. */
  srtp?: boolean;
  /** A sips: Request-URI (and To) instead of sip:. */
  sipsUri?: boolean;
}

const PROVISIONALS = [100, 180, 183];

function invite(s: PbxScenario): string {
  const offer = s.offer ?? [0, 8];
  const domain = s.domain ?? 'demo.pstn.twilio.com';
  const names: Record<number, string> = { 0: 'PCMU/8000', 8: 'PCMA/8000', 18: 'G729/8000', 9: 'G722/8000', 101: 'telephone-event/8000' };
  const sdp =
    offer.length === 0
      ? ''
      : [
          'v=0',
          'o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]',
          's=-',
          'c=IN IP[media_ip_type] [media_ip]',
          't=0 0',
          `m=audio [media_port] ${s.srtp === true ? 'RTP/SAVP' : 'RTP/AVP'} ${offer.join(' ')}`,
          ...offer.map((pt) => `a=rtpmap:${pt} ${names[pt] ?? 'X/8000'}`),
          ...(s.srtp === true ? ['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'] : []),
        ].join('\n') + '\n';
  const scheme = s.sipsUri === true ? 'sips' : 'sip';
  const headers = [
    `INVITE ${scheme}:${s.number}@${domain} SIP/2.0`,
    'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-inv-[pid]-[call_number]',
    'From: "PBX" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]',
    `To: <${scheme}:${s.number}@${domain}>`,
    'Call-ID: [call_id]',
    'CSeq: 1 INVITE',
    'Contact: <sip:pbx@[local_ip]:[local_port];transport=[transport]>',
    'Max-Forwards: 70',
    ...(s.headers ?? []),
  ];
  if (sdp.length > 0) headers.push('Content-Type: application/sdp');
  headers.push('Content-Length: [len]');
  // retrans: SIPp resends it over UDP until a response comes (Timer A's job)
  return `<send retrans="500"><![CDATA[\n${headers.join('\n')}\n\n${sdp}]]></send>`;
}

function request(method: string, cseq: number, body?: string): string {
  const lines = [
    `${method} [next_url] SIP/2.0`,
    'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
    'From: "PBX" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]',
    'To:[$peerto]',
    'Call-ID: [call_id]',
    `CSeq: ${cseq} ${method}`,
    'Contact: <sip:pbx@[local_ip]:[local_port];transport=[transport]>',
    'Max-Forwards: 70',
  ];
  if (method === 'INFO') lines.push('Content-Type: application/dtmf-relay');
  if (body !== undefined && method !== 'INFO') lines.push('Content-Type: application/sdp');
  lines.push('Content-Length: [len]');
  return `<send retrans="500"><![CDATA[\n${lines.join('\n')}\n\n${body ?? ''}]]></send>`;
}

const REOFFER = ['v=0', 'o=user1 53655765 2353687638 IN IP[local_ip_type] [local_ip]', 's=-', 'c=IN IP[media_ip_type] [media_ip]', 't=0 0', 'm=audio [media_port] RTP/AVP 8', 'a=rtpmap:8 PCMA/8000', ''].join('\n');

/** ACK: for a 2xx, a new transaction to the Contact with the saved To; for a non-2xx, the INVITE's branch and the response's To. */
function ackFor(cseq: number, toFromLast: boolean, sameBranch: boolean, ruri = '[next_url]', answer?: number): string {
  const body =
    answer === undefined
      ? ''
      : ['v=0', 'o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]', 's=-', 'c=IN IP[media_ip_type] [media_ip]', 't=0 0', `m=audio [media_port] RTP/AVP ${answer}`, ''].join('\n');
  const lines = [
    `ACK ${ruri} SIP/2.0`,
    `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${sameBranch ? 'z9hG4bK-inv-[pid]-[call_number]' : '[branch]'}`,
    'From: "PBX" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]',
    toFromLast ? '[last_To:]' : 'To:[$peerto]',
    'Call-ID: [call_id]',
    `CSeq: ${cseq} ACK`,
    'Max-Forwards: 70',
    answer === undefined ? '' : 'Content-Type: application/sdp',
    answer === undefined ? 'Content-Length: 0' : 'Content-Length: [len]',
  ].filter((l) => l.length > 0);
  return `<send><![CDATA[\n${lines.join('\n')}\n\n${body}]]></send>`;
}

export function pbxScenarioXml(s: PbxScenario): string {
  const out: string[] = [invite(s)];
  /** SIPp refuses variables that are set but never read: mark them read. */
  const referenced: string[] = [];
  const required = new Set(s.requireProvisional ?? []);
  for (const code of PROVISIONALS) {
    // SIPp needs a mandatory message right before a pause: when cancelling, expect only the required 1xx (and 100)
    if (s.cancelAfterMs !== undefined && code !== 100 && !required.has(code)) continue;
    out.push(`<recv response="${code}"${required.has(code) ? '' : ' optional="true"'} />`);
  }
  const domain = s.domain ?? 'demo.pstn.twilio.com';
  if (s.cancelAfterMs !== undefined) {
    out.push(`<pause milliseconds="${s.cancelAfterMs}" />`);
    const cancel = [
      `CANCEL sip:${s.number}@${domain} SIP/2.0`,
      'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-inv-[pid]-[call_number]',
      'From: "PBX" <sip:+14155550100@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]',
      `To: <sip:${s.number}@${domain}>`,
      'Call-ID: [call_id]',
      'CSeq: 1 CANCEL',
      'Max-Forwards: 70',
      'Content-Length: 0',
    ];
    out.push(`<send><![CDATA[\n${cancel.join('\n')}\n\n]]></send>`);
    out.push('<recv response="200" />');
  }
  const checks: string[] = [];
  for (const c of s.finalMustNotMatch ?? []) {
    checks.push(`<ereg regexp="${c.regexp}" search_in="hdr" header="${c.header}:" check_it_inverse="true" assign_to="dummy" />`);
  }
  for (const c of s.finalMustMatch ?? []) {
    checks.push(`<ereg regexp="${c.regexp}" search_in="hdr" header="${c.header}:" check_it="true" assign_to="dummy" />`);
  }
  if (s.finalBodyMatch !== undefined) checks.push(`<ereg regexp="${s.finalBodyMatch}" search_in="body" check_it="true" assign_to="dummy" />`);
  if (s.finalReason !== undefined) {
    const phrase = s.finalReason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    checks.push(`<ereg regexp="^SIP/2[.]0 ${s.final} ${phrase}[[:space:]]" search_in="msg" check_it="true" assign_to="dummy" />`);
  }
  if (s.final < 300) {
    checks.push('<ereg regexp=".*" search_in="hdr" header="To:" assign_to="peerto" />');
    referenced.push('peerto');
  }
  const action = checks.length > 0 ? `<action>${checks.join('')}</action>` : '';
  if (checks.some((c) => c.includes('"dummy"'))) referenced.push('dummy');
  out.push(`<recv response="${s.final}" rrs="true">${action}</recv>`);
  if (s.final >= 300) {
    out.push(ackFor(1, true, true, `sip:${s.number}@${domain}`));
    return wrap(out, s, referenced);
  }
  const then = s.then ?? { kind: 'bye', afterMs: 0 };
  if (then.kind !== 'no-ack') out.push(ackFor(1, false, false, '[next_url]', s.ackAnswer));
  switch (then.kind) {
    case 'bye':
      if (then.afterMs > 0) out.push(`<pause milliseconds="${then.afterMs}" />`);
      out.push(request('BYE', 2), '<recv response="200" />');
      break;
    case 'wait-bye':
      out.push('<recv request="BYE" />', reply200());
      break;
    case 'no-ack':
      out.push('<recv request="BYE" timeout="60000" />', reply200());
      break;
    case 'glare':
      // Hold the gateway's BYE unanswered, send our own: both BYEs are in flight at once.
      out.push(
        '<recv request="BYE"><action>' +
          '<ereg regexp=".*" search_in="hdr" header="Via:" assign_to="gv" />' +
          '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="gf" />' +
          '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="gt" />' +
          '<ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="gc" />' +
          '</action></recv>',
        request('BYE', 2),
        '<recv response="200" />',
        '<send><![CDATA[\nSIP/2.0 200 OK\nVia:[$gv]\nFrom:[$gf]\nTo:[$gt]\nCall-ID: [call_id]\nCSeq:[$gc]\nContent-Length: 0\n\n]]></send>',
      );
      break;
    case 'in-dialog': {
      let cseq = 2;
      then.methods.forEach((method, i) => {
        const body = method === 'INVITE' || method === 'UPDATE' ? REOFFER : method === 'INFO' ? 'Signal=5\nDuration=160\n' : undefined;
        out.push(request(method, cseq, body));
        out.push('<recv response="100" optional="true" />');
        out.push(`<recv response="${then.expect[i] ?? 200}" />`);
        if (method === 'INVITE' && (then.expect[i] ?? 200) < 300) out.push(ackFor(cseq, false, false));
        cseq++;
      });
      out.push(request('BYE', cseq), '<recv response="200" />');
      break;
    }
  }
  return wrap(out, s, referenced);
}

function reply200(): string {
  return '<send><![CDATA[\nSIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\nContent-Length: 0\n\n]]></send>';
}

function wrap(steps: string[], s: PbxScenario, referenced: string[]): string {
  if (referenced.length > 0) steps.push(`<Reference variables="${referenced.join(',')}" />`);
  if (s.rport) steps = steps.map((step) => step.replace(/(Via: SIP\/2\.0\/\[transport\] \[local_ip\]:\[local_port\];branch=[^\n;]*)/g, '$1;rport'));
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<!-- generated: ${JSON.stringify(s).replace(/--/g, '- -')} -->\n<scenario name="pbx">\n${steps.join('\n')}\n</scenario>\n`;
}

/** Write a scenario to a temp file and return its path. */
export function writeScenario(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-scn-'));
  const path = join(dir, 'scenario.xml');
  writeFileSync(path, xml);
  return path;
}

export function pbxScenario(s: PbxScenario): string {
  return writeScenario(pbxScenarioXml(s));
}
