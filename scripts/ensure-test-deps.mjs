#!/usr/bin/env node
// The tests drive trunkgate with real peers: SIPp (Debian package
// sip-tester), a real Prometheus server and promtool (Debian package
// prometheus), Wireshark's tshark and sngrep to read the pcap files (tshark,
// sngrep) and headless
// Chromium for the status page (chromium).
// When one is missing this installs it (root with apt only); otherwise it
// stops and says how to install it. Tests never skip silently.
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED = [
  { command: 'sipp', debian: 'sip-tester', other: ['macOS: brew install sipp', 'source: https://github.com/SIPp/sipp (cmake)'] },
  { command: 'prometheus', debian: 'prometheus', other: ['macOS: brew install prometheus', 'binaries: https://prometheus.io/download/'] },
  { command: 'promtool', debian: 'prometheus', other: ['macOS: brew install prometheus (promtool comes with it)'] },
  { command: 'tshark', debian: 'tshark', other: ['macOS: brew install wireshark'] },
  { command: 'sngrep', debian: 'sngrep', other: ['macOS: brew install sngrep'] },
  { command: process.env.CHROMIUM_PATH ?? 'chromium', debian: 'chromium', other: ['elsewhere: set CHROMIUM_PATH to a Chromium or Chrome binary'] },
  // the README walkthrough (run by a test) reads JSON with jq and names the pcap with file
  { command: 'jq', debian: 'jq', other: ['macOS: brew install jq'] },
  { command: 'file', debian: 'file', other: ['macOS: comes with the system'] },
];

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !have(n.command));
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && have('apt-get')) {
    const packages = [...new Set(missing.map((n) => n.debian))].join(' ');
    console.log(`installing what the tests need: ${packages} …`);
    try {
      execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`], { stdio: 'inherit' });
    } catch {
      // reported below
    }
  }
  const still = NEEDED.filter((n) => !have(n.command));
  if (still.length > 0) {
    const lines = ['The trunkgate tests need these programs, and they are not installed:'];
    for (const n of still) {
      lines.push(`  ${n.command}:`, `    Debian/Ubuntu: sudo apt-get install ${n.debian}`, ...n.other.map((o) => `    ${o}`));
    }
    lines.push('Install them, then run `npm test` again.');
    console.error(lines.join('\n'));
    process.exit(1);
  }
}
