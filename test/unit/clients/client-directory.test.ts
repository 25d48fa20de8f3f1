/**
 * Which Request-URIs name a client domain: `<account>.<sip.clientDomainSuffix>`,
 * case-insensitive; the raw-string pre-test never says no to one that does.
 */
import { describe, expect, it } from 'vitest';
import { ClientDirectory } from '../../../src/clients/client-directory.js';
import { ConfigSchema } from '../../../src/config/schema.js';
import { testConfig } from '../../support/gateway.js';

const config = ConfigSchema.parse({
  ...testConfig(),
  sip: { ...testConfig().sip, clientDomainSuffix: 'client.example.test' },
  accounts: [{ name: 'Acme', type: 'business-pcp', clients: [{ identity: 'alice', password: 'alice-pass-1' }] }],
  trunks: [],
});

describe('ClientDirectory', () => {
  const d = new ClientDirectory(config);

  it('finds the account by its client domain, in any case', () => {
    expect(d.forHost('acme.client.example.test')?.name).toBe('Acme');
    expect(d.forHost('ACME.Client.Example.TEST')?.name).toBe('Acme');
    expect(d.forHost('other.client.example.test')).toBeUndefined();
    expect(d.forHost('acme.pstn.twilio.com')).toBeUndefined();
  });

  it('mayName: true for every Request-URI of a client domain (any case), false for trunk traffic', () => {
    for (const uri of ['sip:acme.client.example.test', 'sip:bob@ACME.CLIENT.EXAMPLE.TEST;transport=ws', 'sips:+14155550123@acme.client.example.test:5061']) expect(d.mayName(uri), uri).toBe(true);
    for (const uri of ['sip:+14155550123@acme.pstn.twilio.com', 'sip:127.0.0.1:5060', 'sip:acme.clientXexampleYtest']) expect(d.mayName(uri), uri).toBe(false);
  });
});
