// Realistic messages for benchmarks: an INVITE of about 900 bytes with SDP,
// as a PBX (Asterisk pjsip) sends it to a termination URI.
export function realisticInvite(i = 0) {
  const sdp = [
    'v=0',
    'o=- 1759419870 1759419870 IN IP4 192.0.2.10',
    's=Asterisk',
    'c=IN IP4 192.0.2.10',
    't=0 0',
    'm=audio 18542 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=maxptime:150',
    'a=sendrecv',
    '',
  ].join('\r\n');
  const head = [
    'INVITE sip:+14155550123@demo.pstn.twilio.com SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKPj5c7a1b0e-${i}`,
    'From: "Front Desk" <sip:+14155550100@192.0.2.10>;tag=6d0a2a3e-3c5e-4c1f',
    'To: <sip:+14155550123@demo.pstn.twilio.com>',
    'Contact: <sip:asterisk@192.0.2.10:5060>',
    `Call-ID: 0c5e8a4f-33b1-4e8a-9a7a-${String(i).padStart(12, '0')}`,
    'CSeq: 31245 INVITE',
    'Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, INFO, MESSAGE, REFER',
    'Supported: 100rel, timer, replaces, norefersub',
    'Session-Expires: 1800',
    'Min-SE: 90',
    'P-Asserted-Identity: "Front Desk" <sip:+14155550100@192.0.2.10>',
    'Max-Forwards: 70',
    'User-Agent: Asterisk PBX 20.5.0',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.from(head + sdp);
}
