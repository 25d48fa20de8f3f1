#!/usr/bin/env node
// The tests drive trunkgate with real peers: SIPp (Debian package
// sip-tester), a real Prometheus server (Debian package prometheus) and a
// real Redis server for the shared limits (Debian package redis-server).
// When one is missing this installs it (root with apt only); otherwise it
// stops and says how to install it. Tests never skip silently.
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED = [
  { command: 'sipp', debian: 'sip-tester', other: ['macOS: brew install sipp', 'source: https://github.com/SIPp/sipp (cmake)'] },
  { command: 'prometheus', debian: 'prometheus', other: ['macOS: brew install prometheus', 'binaries: https://prometheus.io/download/'] },
  { command: 'redis-server', debian: 'redis-server', other: ['macOS: brew install redis', 'Valkey works too: apt-get install valkey-server (provides redis-server on Debian 13)'] },
];

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !have(n.command));
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && have('apt-get')) {
    const packages = missing.map((n) => n.debian).join(' ');
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
