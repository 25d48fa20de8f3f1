#!/usr/bin/env node
// The image's HEALTHCHECK: GET /healthz on the HTTP address of the gateway running in this
// container. The address comes from the gateway's own command line (--config, --http-listen) and
// configuration file, read the way trunkgate reads them (dist/config), so a mounted config or
// --http-listen on another port moves the health check with it. Exit 0 when /healthz answers
// 2xx within the timeout, 1 otherwise (with the reason on stderr, which `docker inspect` /
// `podman healthcheck run` show).
//
//   node /app/docker/healthcheck.mjs            the gateway in this container
//   node docker/healthcheck.mjs --print -- ARGS  print the URL for gateway arguments ARGS (tests)
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_PATH, formatProblems, readConfigRaw, validateConfig } from '../dist/config/load.js';
import { applyOverrides } from '../dist/config/overrides.js';

const TIMEOUT_MS = 2500;

/** The value of a commander option (`--name V` or `--name=V`); the last one wins, as in commander. */
function optionValue(args, name) {
  let value;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) value = args[++i];
    else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
  }
  return value;
}

/**
 * The /healthz URL of a gateway started with `args` (the arguments after dist/cli.js) in `cwd`:
 * http.listen of its config file (default: the built-in one) after --http-listen, with a wildcard
 * host asked on loopback.
 */
export function healthzUrl(args, cwd = process.cwd()) {
  const config = optionValue(args, '--config');
  const path = config === undefined ? DEFAULT_CONFIG_PATH : isAbsolute(config) ? config : resolve(cwd, config);
  const raw = readConfigRaw(path);
  if (!raw.ok) throw new Error(`${path}:\n${formatProblems(raw.problems)}`);
  const httpListen = optionValue(args, '--http-listen');
  const result = validateConfig(applyOverrides(raw.raw, httpListen === undefined ? {} : { httpListen }));
  if (!result.ok) throw new Error(`${path} with the command line:\n${formatProblems(result.problems)}`);
  const m = /^(.*):(\d+)$/.exec(result.config.http.listen);
  if (m === null) throw new Error(`http.listen ${result.config.http.listen}: expected HOST:PORT`);
  const host = m[1] === '0.0.0.0' ? '127.0.0.1' : m[1] === '[::]' ? '[::1]' : m[1];
  return `http://${host}:${m[2]}/healthz`;
}

/** The gateway process of this container: PID 1 (the image's ENTRYPOINT), else the first `… dist/cli.js …`. */
function gatewayProcess() {
  const pids = ['1', ...readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== '1' && p !== String(process.pid))];
  for (const pid of pids) {
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    } catch {
      continue; // gone, or not ours
    }
    const cli = argv.findIndex((a) => /(^|\/)dist\/cli\.js$/.test(a));
    if (cli === -1 || argv[cli + 1] === 'check-config') continue;
    let cwd = '/';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`); // a relative --config is relative to it
    } catch {
      // not readable: relative paths resolve against /
    }
    return { args: argv.slice(cli + 1), cwd };
  }
  return undefined;
}

async function main(argv) {
  if (argv[0] === '--print') {
    process.stdout.write(`${healthzUrl(argv[1] === '--' ? argv.slice(2) : argv.slice(1))}\n`);
    return 0;
  }
  const gateway = gatewayProcess();
  if (gateway === undefined) {
    process.stderr.write('healthcheck: no trunkgate process (node dist/cli.js) in this container\n');
    return 1;
  }
  const url = healthzUrl(gateway.args, gateway.cwd);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.ok) return 0;
    process.stderr.write(`healthcheck: ${url}: HTTP ${res.status}\n`);
  } catch (err) {
    process.stderr.write(`healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
