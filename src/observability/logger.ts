/**
 * The process's logger (pino): JSON lines for machines (`jq`, log
 * shippers) or a human format (pino-pretty) for a person at a terminal.
 * `auto` picks pretty when stdout is a terminal. Credentials are redacted
 * whatever the format.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { LOG_REDACTION } from '../config/secrets.js';

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go (default: stdout). */
  destination?: NodeJS.WritableStream;
  /** Whether that destination is a terminal (default: stdout's isTTY). */
  isTty?: boolean;
}


export function resolveLogFormat(format: LogFormat, isTty: boolean): 'pretty' | 'json' {
  return format === 'auto' ? (isTty ? 'pretty' : 'json') : format;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const format = resolveLogFormat(options.format, options.isTty ?? process.stdout.isTTY === true);
  // the secret keys of config/secrets.ts, at any depth the configuration has, show <redacted>
  const base = { level: options.level, redact: LOG_REDACTION };
  if (format === 'json') return options.destination === undefined ? pino(base) : pino(base, destination);
  return pino(
    base,
    pretty({
      destination,
      colorize: options.isTty ?? process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true,
      // a SIP message (trace) reads as the message, one header per line, not as an escaped string
      customPrettifiers: { sip: (value) => `\n    ${(typeof value === 'string' ? value : JSON.stringify(value)).trimEnd().replace(/\r\n/g, '\n    ')}` },
    }),
  );
}
