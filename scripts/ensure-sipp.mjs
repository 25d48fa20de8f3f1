#!/usr/bin/env node
// The tests drive trunkgate with real SIPp. When `sipp` is missing this
// installs Debian's `sip-tester` (root with apt only); otherwise it stops and
// says how to install it. Tests never skip silently.
import { execFileSync, spawnSync } from 'node:child_process';

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (!have('sipp')) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && have('apt-get')) {
    console.log('sipp not found: installing Debian package sip-tester …');
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester'], { stdio: 'inherit' });
    } catch {
      // fall through to the check below
    }
  }
  if (!have('sipp')) {
    console.error(
      [
        'The trunkgate tests need SIPp, and it is not installed.',
        'Install it, then run `npm test` again:',
        '  Debian/Ubuntu:  sudo apt-get install sip-tester',
        '  macOS:          brew install sipp',
        '  other:          https://github.com/SIPp/sipp (build with cmake)',
      ].join('\n'),
    );
    process.exit(1);
  }
}
