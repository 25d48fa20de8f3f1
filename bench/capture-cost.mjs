// What watching calls costs (issue 13: the message store, HEP export): the
// gateway's CPU time per call for the same SIPp run with the message store
// off (observability.messageStore.maxCalls 0: no wire event is even built),
// on (the default bounds), and on with HEP export to a UDP sink in this
// process. Each setting runs `repeats` times; the lowest CPU counts (the
// machine's other load only ever adds).
import { createSocket } from 'node:dgram';
import { benchConfig, cpuSeconds, freePort, runSipp, startGatewayProcess } from './lib.mjs';


async function oneRun({ rate, seconds, observability }) {
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port, observability })]);
  try {
    await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: 500, rate: 500, extraArgs: ['-s', '+14155550123'] }); // warm-up
    const before = cpuSeconds(gw.pid);
    const r = await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: rate * seconds, rate, timeoutSeconds: seconds * 3 + 20, extraArgs: ['-s', '+14155550123'] });
    return { cpu: cpuSeconds(gw.pid) - before, failed: r.failed };
  } finally {
    await gw.stop();
  }
}

export async function benchCaptureCost({ rate = 500, seconds = 10, repeats = 2 } = {}) {
  console.log(`Capture cost (SIPp uac → builtin at ${rate} calls/s for ${seconds} s; gateway CPU per call)`);
  const sink = createSocket('udp4');
  let hepPackets = 0;
  sink.on('message', () => hepPackets++);
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const settings = {
    'store off': { messageStore: { maxCalls: 0 } },
    'store on (default)': {},
    'store on + HEP': { hep: `udp://127.0.0.1:${sink.address().port}` },
  };
  const best = {};
  try {
    for (let i = 0; i < repeats; i++) {
      for (const [name, observability] of Object.entries(settings)) {
        const r = await oneRun({ rate, seconds, observability });
        const perCall = (r.cpu / (rate * seconds)) * 1e6;
        console.log(`  run ${i + 1}, ${name}: ${perCall.toFixed(1)} µs CPU per call (${r.failed} failed)`);
        best[name] = Math.min(best[name] ?? Infinity, perCall);
      }
    }
  } finally {
    sink.close();
  }
  const off = best['store off'];
  for (const [name, perCall] of Object.entries(best)) {
    console.log(`  ${name}: ${perCall.toFixed(1)} µs per call${name === 'store off' ? '' : ` (${(((perCall - off) / off) * 100).toFixed(1)}% over store off)`}`);
  }
  console.log(`  HEP packets received by the sink: ${hepPackets}`);
  return best;
}
