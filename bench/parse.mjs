// Parse throughput of a realistic ~900-byte INVITE with SDP, on one core:
// framing plus the reads the transaction layer makes (validate: Via, CSeq,
// From, To, Call-ID, Request-URI). Target: ≥ 150,000 INVITEs/s.
import { parseMessage, validateMessage } from '../dist/sip/message/index.js';
import { realisticInvite } from './fixtures.mjs';

export async function benchParse({ seconds = 3 } = {}) {
  const messages = Array.from({ length: 64 }, (_, i) => realisticInvite(i));
  const bytes = messages[0].length;
  // warm-up
  for (let i = 0; i < 200_000; i++) validateMessage(parseMessage(messages[i & 63]).message);
  const results = {};
  for (const mode of ['parse only', 'parse + validate']) {
    let n = 0;
    const end = performance.now() + seconds * 1000;
    let now = performance.now();
    const start = now;
    while (now < end) {
      for (let i = 0; i < 10_000; i++) {
        const r = parseMessage(messages[i & 63]);
        if (!r.ok) throw new Error(r.reason);
        if (mode !== 'parse only' && validateMessage(r.message) !== undefined) throw new Error('invalid');
      }
      n += 10_000;
      now = performance.now();
    }
    results[mode] = Math.round(n / ((now - start) / 1000));
  }
  console.log(`Parse throughput (INVITE of ${bytes} bytes with SDP, one core)`);
  for (const [mode, rate] of Object.entries(results)) {
    console.log(`  ${mode.padEnd(18)} ${rate.toLocaleString('en-US').padStart(10)} INVITEs/s`);
  }
  const target = 150_000;
  const measured = results['parse + validate'];
  console.log(`  target ≥ ${target.toLocaleString('en-US')}/s (parse + validate): ${measured >= target ? 'MET' : 'MISSED'}`);
  return { parse: results, met: measured >= target };
}
