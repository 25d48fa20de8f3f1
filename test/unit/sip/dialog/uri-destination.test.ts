/** Where in-dialog requests go (issue 12: no name from a message is ever looked up). */
import { describe, expect, it } from 'vitest';
import { uriDestination } from '../../../../src/sip/dialog/dialog.js';

describe('uriDestination', () => {
  it.each([
    ['sip:pbx@192.0.2.10:5070', { transport: 'udp', address: '192.0.2.10', port: 5070 }],
    ['sip:pbx@[2001:db8::1];transport=tcp', { transport: 'tcp', address: '2001:db8::1', port: 5060 }],
    ['sip:pbx@localhost:5080', { transport: 'udp', address: '127.0.0.1', port: 5080 }],
    ['sip:pbx@pbx.example.com:5070;maddr=192.0.2.20', { transport: 'udp', address: '192.0.2.20', port: 5070 }],
  ] as const)('%s → an IP destination', (uri, dest) => {
    expect(uriDestination(uri)).toEqual(dest);
  });

  it.each(['sip:pbx@pbx.example.com:5070', 'sip:pbx@192.0.2.10;maddr=victim.example.invalid', 'sips:pbx@carrier.example', 'tel:+14155550100', 'not a uri'])(
    '%s → undefined: the dialog falls back to the flow it came on, no name is looked up',
    (uri) => {
      expect(uriDestination(uri)).toBeUndefined();
    },
  );
});
