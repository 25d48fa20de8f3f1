/** The logger: JSON or pino-pretty's format, chosen by the flag or by whether stdout is a terminal; credentials redacted. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from '../../../src/observability/logger.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('auto is pretty on a terminal, JSON elsewhere', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
  });

  it('json: one parseable line per entry, with the password redacted', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'json', destination: s.stream, isTty: false });
    log.info({ trunk: 'demo', auth: { password: 'hunter22', authorization: 'Digest response="x"' } }, 'hello');
    log.debug('hidden');
    const lines = s.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 30, msg: 'hello', trunk: 'demo', auth: { password: '<redacted>', authorization: '<redacted>' } });
  });

  it('pretty: a time, the level name and the message, then the fields; SIP text one line per header', () => {
    const s = sink();
    const log = createLogger({ level: 'trace', format: 'pretty', destination: s.stream, isTty: false });
    log.trace({ callId: 'c@x', sip: 'INVITE sip:a SIP/2.0\r\nCall-ID: c@x\r\n\r\n' }, 'received INVITE');
    const text = s.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] TRACE: received INVITE\n/);
    expect(text).toContain('\n    callId: "c@x"\n');
    expect(text).toContain('\n    sip:\n        INVITE sip:a SIP/2.0\n        Call-ID: c@x\n');
    expect(text).not.toContain('\u001b['); // no colours when not a terminal
  });
});
