import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { RtpSink } from '../../../src/pstn/rtp-sink.js';
import { waitFor } from '../../support/wait-for.js';

describe('RtpSink', () => {
  it('binds a free UDP port on its address, counts the datagrams it receives, and stops', async () => {
    const sink = new RtpSink('127.0.0.1');
    expect(sink.port).toBe(0);
    await sink.start();
    expect(sink.port).toBeGreaterThan(0);
    expect(sink.packets).toBe(0);

    const sender = createSocket('udp4');
    try {
      // An RTP header (version 2, PCMU, seq 1) and a little payload: the sink does not look inside.
      const packet = Buffer.from([0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
      await new Promise<void>((resolve, reject) => sender.send(packet, sink.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      await waitFor(() => sink.packets === 1, { timeoutMs: 5000, what: 'the sink to count the datagram' });
      expect(sink.packets).toBe(1);
    } finally {
      sender.close();
      await sink.stop();
    }
  });

  it('stop() releases the port (it can be bound again) and is safe to call twice', async () => {
    const sink = new RtpSink('127.0.0.1');
    await sink.start();
    const port = sink.port;
    await sink.stop();
    await sink.stop();
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, '127.0.0.1', () => resolve());
    });
    expect(again.address().port).toBe(port);
    again.close();
  });

  it('start() rejects for an address it cannot bind', async () => {
    const sink = new RtpSink('192.0.2.1'); // TEST-NET-1: not a local address
    await expect(sink.start()).rejects.toThrow(/EADDRNOTAVAIL|EINVAL/);
  });
});
