#!/usr/bin/env node
/**
 * The command line (docs/configuration.md#command-line):
 *   trunkgate [--config FILE] [quick overrides]   start the gateway
 *   trunkgate check-config FILE [--strict]        validate a configuration file
 *   trunkgate scenario NAME [options]             a SIPp scenario of the pack against a running gateway
 *   trunkgate --version
 * Exit codes: 0 fine, 1 a problem in the configuration (or a FAIL verdict), 2 a usage error.
 */
import { Command, Option } from 'commander';
import { checkConfig, readConfigFile } from './commands/config-file.js';
import { addOriginateCommand } from './commands/originate.js';
import { addScenarioCommand } from './commands/scenario.js';
import { nonNegativeInt, nonNegativeNumber, throwUsageErrors, UsageError, usageLine } from './commands/usage.js';
import { lintConfig } from './config/lint.js';
import { type ConfigResult, DEFAULT_CONFIG_PATH, formatProblems, readConfigRaw, validateConfig } from './config/load.js';
import { applyOverrides } from './config/overrides.js';
import { ERRORS, errorOf, TrunkgateError } from './errors.js';
import { createGateway } from './gateway.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, createLogger } from './observability/logger.js';
import { ListenError } from './sip/transport/index.js';
import { VERSION } from './version.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface StartOptions {
  config?: string;
  cps?: number;
  accountType?: string;
  maxConcurrent?: number;
  route?: string;
  sipListen?: string[];
  httpListen?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

async function start(opts: StartOptions): Promise<number> {
  const path = opts.config ?? DEFAULT_CONFIG_PATH;
  const read = readConfigFile(path);
  if (!read.ok) {
    process.stderr.write(`trunkgate: ${read.error.message}\n`);
    return 2;
  }
  const raw = read.raw;
  if (!raw.ok) {
    process.stderr.write(`trunkgate: ${errorOf('CONFIG_INVALID', raw.problems.length, path).message}\n${formatProblems(raw.problems)}\n`);
    return 1;
  }
  let patched: unknown;
  try {
    patched = applyOverrides(raw.raw, opts);
  } catch (err) {
    process.stderr.write(`trunkgate: ${(err as Error).message}\n`);
    return 2;
  }
  const result = validateConfig(patched);
  if (!result.ok) {
    process.stderr.write(`trunkgate: ${errorOf('CONFIG_INVALID', result.problems.length, `${path} with the command-line overrides`).message}\n${formatProblems(result.problems)}\n`);
    return 1;
  }
  const warnings = lintConfig(result.config);
  if (warnings.length > 0) process.stderr.write(`trunkgate: ${warnings.length} warning(s) about ${path}:\n${formatProblems(warnings)}\n`);
  // every log line: the secret keys of config/secrets.ts at any depth show <redacted>
  const logger = createLogger({ level: opts.logLevel, format: opts.logFormat });
  // A reload reads the file again and applies the same command-line overrides.
  const reloadConfig = (): ConfigResult => {
    const again = readConfigRaw(path);
    if (!again.ok) return again;
    try {
      return validateConfig(applyOverrides(again.raw, opts));
    } catch (err) {
      return { ok: false, problems: [{ path: '', value: undefined, message: (err as Error).message }] };
    }
  };
  const gateway = createGateway({ config: result.config, logger, reloadConfig });
  // SIGHUP reloads; until the gateway is up it is ignored (instead of killing the process).
  let up = false;
  process.on('SIGHUP', () => {
    if (!up) {
      logger.warn('SIGHUP during start-up: ignored');
      return;
    }
    const r = gateway.reload();
    if (r.ok) logger.info({ warnings: r.value.warnings }, 'SIGHUP: configuration reloaded');
    else logger.error({ problems: r.error.details }, `SIGHUP: ${r.error.message}`);
  });
  try {
    await gateway.start();
  } catch (err) {
    const known = startupError(err);
    if (known === undefined) throw err;
    process.stderr.write(`trunkgate: ${known.message}\n`);
    return 1;
  }
  // The banner is for a person: on stderr, so stdout stays the log alone (a JSON log stays parseable
  // with jq); --log-level silent is silent. The log has the same facts as its 'trunkgate listening' line.
  if (opts.logLevel !== 'silent') {
    const listening = gateway.listeners.map((l) => `${l.transport}://${l.family === 'IPv6' ? `[${l.address}]` : l.address}:${l.port}`);
    const http = gateway.httpAddress;
    const httpUrl = http === undefined ? undefined : `http://${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port}`;
    process.stderr.write(`trunkgate listening on ${listening.join(', ')}; HTTP on ${httpUrl ?? '-'} (config: ${path})\n`);
    const trunks = result.config.trunks.map((t) => `${t.name}.${result.config.sip.domainSuffix}`);
    if (trunks.length > 0) process.stderr.write(`trunks: ${trunks.join(', ')}\n`);
    if (httpUrl !== undefined) process.stderr.write(`status page: ${httpUrl}/\n`);
  }

  up = true;
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal, activeCalls: gateway.b2bua.activeCalls }, 'draining, then stopping');
  // A second signal stops at once.
  const now = (): void => {
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  await gateway.drain();
  return 0;
}

/** A start-up failure the operator can act on, worded by the catalogue; undefined for a bug. */
function startupError(err: unknown): TrunkgateError | undefined {
  if (err instanceof TrunkgateError) return err;
  if (err instanceof ListenError) {
    return new TrunkgateError(err.code, ERRORS[err.code].message(err.url, err.reason));
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('trunkgate')
    .description('A local stand-in for a cloud SIP trunk: a SIP B2BUA with the provider’s checks, limits and responses.')
    .option('--config <file>', 'YAML (or JSON) configuration file (default: the built-in examples/trunkgate.yaml)')
    .option('--cps <n>', 'CPS of the first trunk, in every region', nonNegativeNumber)
    .addOption(new Option('--account-type <type>', "type of the first trunk's account").choices(['trial', 'no-pcp', 'individual-pcp', 'business-pcp']))
    .option('--max-concurrent <n>', 'concurrent call cap of the first trunk', nonNegativeInt)
    .option('--route <uri>', 'far leg of the first trunk: builtin, or sip:HOST:PORT[;transport=tcp]')
    .option('--sip-listen <url>', 'SIP listen address, e.g. udp://127.0.0.1:5060 (repeatable)', collect)
    .option('--http-listen <host:port>', 'HTTP listen address (metrics and admin API)')
    .addOption(new Option('--log-level <level>', 'log level (trace adds every SIP message)').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'pretty (for people), json (for jq and log shippers), or auto: pretty when stdout is a terminal').choices(LOG_FORMATS).default('auto'))
    .version(VERSION, '-v, --version', 'print the version')
    // the options above belong to the gateway: before a subcommand only
    .enablePositionalOptions()
    .action(async (opts: StartOptions) => {
      exitCode = await start(opts);
    });
  throwUsageErrors(program);
  const check = program
    .command('check-config')
    .description('validate a configuration file: every problem with its path (exit 1), warnings (exit 0, or 1 with --strict); exit 2 if it cannot be read')
    .argument('<file>')
    .option('--strict', 'warnings fail too (exit 1)')
    .action((file: string, o: { strict?: boolean }) => {
      exitCode = checkConfig(file, { strict: o.strict === true }, process.stdout, process.stderr);
    });
  throwUsageErrors(check);
  addScenarioCommand(program, (code) => (exitCode = code));
  addOriginateCommand(program, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageLine(err));
    return err.exitCode;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`trunkgate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
