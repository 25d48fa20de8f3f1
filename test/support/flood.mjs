#!/usr/bin/env node
// A bounded UDP flood for the hostile-input tests: sends pre-built datagrams
// round-robin at a fixed rate for a fixed time to 127.0.0.1, then prints how
// many it sent. Usage:
//   node flood.mjs <port> <rate/s> <seconds> <kind>[,<kind>…]
// kinds: garbage, unknown-domain, options, register, acl-invite:<host>
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [portText, rateText, secondsText, kindsText] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
if (!(port > 0 && rate > 0 && seconds > 0 && seconds <= 120 && rate <= 100_000)) {
  console.error('usage: flood.mjs <port> <rate ≤ 100000> <seconds ≤ 120> <kinds>');
  process.exit(2);
}

function request(method, uri, i, extra = []) {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      // BRANCH: ten digits overwritten on every send, so each datagram is a new transaction
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-flood-${i}-0000000000`,
      'Max-Forwards: 70',
      `From: <sip:+14155550100@127.0.0.1>;tag=f${i}`,
      `To: <${uri}>`,
      `Call-ID: flood-${i}-${randomBytes(6).toString('hex')}`,
      `CSeq: 1 ${method}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const makers = {
  garbage: () => randomBytes(64 + Math.floor(Math.random() * 400)),
  'unknown-domain': (i) => request('INVITE', 'sip:+14155550123@nosuchtrunk.pstn.twilio.com', i),
  options: (i) => request('OPTIONS', 'sip:demo.pstn.twilio.com', i),
  register: (i) => request('REGISTER', 'sip:demo.pstn.twilio.com', i, ['Contact: <sip:scanner@127.0.0.1:9>']),
  'valid-invite': (i) => request('INVITE', 'sip:+14155550123@demo.pstn.twilio.com', i),
};

const kinds = kindsText.split(',');
for (const k of kinds) if (!(k in makers)) throw new Error(`unknown kind ${k}`);
// pre-build a pool so the sender spends its time sending
const pool = [];
for (let i = 0; i < 2000; i++) pool.push(makers[kinds[i % kinds.length]](i));

const socket = createSocket('udp4');
socket.bind(0, '127.0.0.1', () => {
  const started = Date.now();
  let sent = 0;
  const tick = () => {
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed >= seconds) {
      console.log(JSON.stringify({ sent, seconds: elapsed }));
      socket.close();
      return;
    }
    const due = Math.floor(elapsed * rate);
    while (sent < due) {
      const buf = Buffer.from(pool[sent % pool.length]);
      const at = buf.indexOf('-0000000000');
      if (at !== -1) buf.write(String(sent).padStart(10, '0'), at + 1, 'latin1');
      socket.send(buf, port, '127.0.0.1');
      sent++;
    }
    setImmediate(tick);
  };
  tick();
});
