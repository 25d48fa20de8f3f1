// SIPp uac → trunkgate (its answering UAS) at rising rates, and the same run
// with SIPp's own uas in trunkgate's place: the highest rate each sustains
// with 0 failed calls. Targets: trunkgate ≥ 0.8 × SIPp uas, and ≥ 2,000/s.
import { benchConfig, freePort, highestCleanRate, startGatewayProcess, startSipp } from './lib.mjs';

const RATES = [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000];

export async function benchAnswerRate({ seconds = 5, rates = RATES, timeoutSeconds } = {}) {
  console.log(`Answering rate (SIPp uac, ${seconds} s per step, UDP, 0 failed calls to count)`);
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port })]);
  let trunkgate;
  try {
    trunkgate = await highestCleanRate({ label: 'uac → trunkgate', target: `127.0.0.1:${port}`, rates, seconds, timeoutSeconds, extraArgs: ['-s', '+14155550123'] });
  } finally {
    await gw.stop();
  }
  const uas = await startSipp({ scenario: 'uas' });
  let sipp;
  try {
    sipp = await highestCleanRate({ label: 'uac → SIPp uas', target: `127.0.0.1:${uas.port}`, rates, seconds, timeoutSeconds });
  } finally {
    await uas.stop();
  }
  const ratio = sipp.best > 0 ? trunkgate.best / sipp.best : 0;
  console.log(`  trunkgate: ${trunkgate.best} calls/s; SIPp uas: ${sipp.best} calls/s; ratio ${ratio.toFixed(2)}`);
  const met = trunkgate.best >= 2000 && ratio >= 0.8;
  console.log(`  target ≥ 2,000 calls/s and ≥ 0.8 × SIPp uas: ${met ? 'MET' : 'MISSED'}`);
  return { trunkgate: trunkgate.best, sipp: sipp.best, ratio, met };
}
