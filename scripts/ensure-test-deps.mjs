#!/usr/bin/env node
// The tests drive trunkgate with real peers: SIPp (Debian package
// sip-tester), a real Prometheus server (prometheus), baresip and Kamailio
// (with its TLS module), stunnel and openssl for TLS (this Debian build of
// SIPp has no TLS of its own); the container test builds and runs the image
// with podman; a real Redis server for the shared limits (redis-server);
// promtool (prometheus), tshark and sngrep to read the pcap files, headless
// Chromium for the status page, jq and file for the README walkthrough.
// When one is missing this installs it (root with apt only); otherwise it
// stops and says how to install it. Tests never skip silently.
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED = [
  { command: 'sipp', debian: 'sip-tester', other: ['macOS: brew install sipp', 'source: https://github.com/SIPp/sipp (cmake)'] },
  { command: 'prometheus', debian: 'prometheus', other: ['macOS: brew install prometheus', 'binaries: https://prometheus.io/download/'] },
  { command: 'baresip', debian: 'baresip', other: ['macOS: brew install baresip', 'source: https://github.com/baresip/baresip'] },
  { command: 'kamailio', debian: 'kamailio', other: ['packages: https://www.kamailio.org/w/download/'] },
  // Kamailio's TLS module: a file, not a command (its package name on Debian)
  { file: '/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so', command: 'kamailio tls module', debian: 'kamailio-tls-modules', other: ['packages: https://www.kamailio.org/w/download/'] },
  { command: 'stunnel', debian: 'stunnel4', other: ['macOS: brew install stunnel'] },
  { command: 'openssl', debian: 'openssl', other: ['macOS: brew install openssl'] },
  // test/integration/container-smoke.test.ts: podman builds and runs the image; runc where Debian's
  // crun refuses a cgroup v1/v2 hybrid; mmdebstrap makes the base image (no registry); iptables for
  // podman's published ports
  { command: 'podman', debian: 'podman', other: ['https://podman.io/docs/installation'] },
  { command: 'runc', debian: 'runc', other: ['https://github.com/opencontainers/runc'] },
  { command: 'mmdebstrap', debian: 'mmdebstrap', other: ['Debian and Ubuntu only'] },
  { command: 'iptables', debian: 'iptables', other: ['Linux only'] },
  { command: 'redis-server', debian: 'redis-server', other: ['macOS: brew install redis', 'Valkey works too: apt-get install valkey-server (provides redis-server on Debian 13)'] },
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

/** A Kamailio module is found wherever the architecture's library directory is. */
function present(need) {
  if (need.file === undefined) return have(need.command);
  return spawnSync('sh', ['-c', `ls /usr/lib/*/kamailio/modules/${need.file.split('/').pop()} /usr/lib/kamailio/modules/${need.file.split('/').pop()} 2>/dev/null | grep -q .`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !present(n));
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
  const still = NEEDED.filter((n) => !present(n));
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
