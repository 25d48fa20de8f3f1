#!/usr/bin/env node
// A well-behaved second source for the fairness tests: sends OPTIONS pings at
// a fixed rate from its own loopback address for a fixed time, waits a moment
// for late answers, then prints how many it sent and how many were answered
// (200 OK with the Call-ID of a ping it sent). Usage:
//   node udp-probe.mjs <port> <from-address> <rate/s> <seconds>
import { createSocket } from 'node:dgram';

const [portText, from, rateText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
if (!(port > 0 && /^127\./.test(from ?? '') && rate > 0 && rate <= 10_000 && seconds > 0 && seconds <= 60)) {
  console.error('usage: udp-probe.mjs <port> <127.x.y.z> <rate ≤ 10000> <seconds ≤ 60>');
  process.exit(2);
}

const socket = createSocket('udp4');
const pending = new Set();
let sent = 0;
let answered = 0;
socket.on('message', (buf) => {
  const text = buf.toString('latin1');
  if (!text.startsWith('SIP/2.0 200 ')) return;
  const id = /^Call-ID:\s*(\S+)/im.exec(text)?.[1];
  if (id !== undefined && pending.delete(id)) answered++;
});
socket.bind(0, from, () => {
  const local = socket.address();
  const started = Date.now();
  const tick = () => {
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed >= seconds) {
      // answers still in flight: give them a second, then report
      setTimeout(() => {
        console.log(JSON.stringify({ sent, answered, seconds: elapsed }));
        socket.close();
      }, 1000);
      return;
    }
    const due = Math.floor(elapsed * rate);
    while (sent < due) {
      const id = `probe-${process.pid}-${sent}`;
      pending.add(id);
      const msg = [
        'OPTIONS sip:demo.pstn.twilio.com SIP/2.0',
        `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bK-probe-${process.pid}-${sent};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@${local.address}>;tag=p${sent}`,
        '<sip:demo.pstn.twilio.com>'.replace(/^/, 'To: '),
        `Call-ID: ${id}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(Buffer.from(msg), port, '127.0.0.1');
      sent++;
    }
    setTimeout(tick, 2);
  };
  tick();
});
