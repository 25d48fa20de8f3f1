#!/usr/bin/env node
/**
 * The command line: `trunkgate [options]`. Starts the gateway, and stops it
 * cleanly on SIGINT/SIGTERM.
 */
import { Command, Option } from 'commander';
import pino from 'pino';
import { createGateway } from './gateway.js';
import { ListenError, type ListenSpec, parseListenUrl } from './sip/transport/index.js';

const DEFAULT_SIP_LISTEN = ['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060'];

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('trunkgate')
    .description('A local stand-in for a cloud SIP trunk (SIP B2BUA with the provider’s limits).')
    .option('--sip-listen <url>', 'SIP listen address, e.g. udp://127.0.0.1:5060 (repeatable)', collect)
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<{ sipListen?: string[]; logLevel: string }>();

  const listen: ListenSpec[] = [];
  const problems: string[] = [];
  for (const url of opts.sipListen ?? DEFAULT_SIP_LISTEN) {
    const r = parseListenUrl(url);
    if (r.ok) listen.push(r.spec);
    else problems.push(`--sip-listen: ${r.reason}`);
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`trunkgate: ${p}\n`);
    return 2;
  }

  const logger = pino({ level: opts.logLevel, redact: ['req.headers.authorization', 'req.headers["proxy-authorization"]'] });
  const gateway = createGateway({ sipListen: listen, logger });
  try {
    await gateway.start();
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`trunkgate: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`trunkgate listening on ${gateway.listeners.map((l) => `${l.transport}://${l.family === 'IPv6' ? `[${l.address}]` : l.address}:${l.port}`).join(', ')}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await gateway.stop();
  return 0;
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
