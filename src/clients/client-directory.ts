/**
 * The client domains of a configuration, compiled at load and reload: each
 * account's domain `<account>.<sip.clientDomainSuffix>` (lower case), its
 * clients' identities and passwords, and its client voice application.
 */
import type { AccountConfig, Config } from '../config/schema.js';
import type { Credential } from '../termination/digest.js';
import { generatedAccountSid } from '../termination/directory.js';

export interface ClientAccount {
  name: string;
  sid: string;
  /** `<account>.<suffix>`, lower case. */
  domain: string;
  active: boolean;
  /** identity → its digest credential. */
  clients: ReadonlyMap<string, Credential>;
  voiceUrl: string | null;
  voiceMethod: 'GET' | 'POST';
  config: AccountConfig;
}

export class ClientDirectory {
  readonly byDomain = new Map<string, ClientAccount>();
  readonly byName = new Map<string, ClientAccount>();
  /** The suffix anywhere in a raw Request-URI, case-insensitive: the cheap test before parsing it. */
  private readonly suffixPattern: RegExp;

  constructor(readonly config: Config) {
    const suffix = config.sip.clientDomainSuffix.toLowerCase();
    this.suffixPattern = new RegExp(suffix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    for (const a of config.accounts) {
      const clients = new Map<string, Credential>();
      for (const c of a.clients) clients.set(c.identity, { username: c.identity, password: c.password });
      const account: ClientAccount = {
        name: a.name,
        sid: a.sid ?? generatedAccountSid(a.name),
        domain: `${a.name.toLowerCase()}.${suffix}`,
        active: a.active,
        clients,
        voiceUrl: a.clientVoiceUrl,
        voiceMethod: a.clientVoiceMethod,
        config: a,
      };
      this.byDomain.set(account.domain, account);
      this.byName.set(a.name, account);
    }
  }

  /**
   * Whether a raw Request-URI may name a client domain. False for nearly all trunk traffic, which
   * then never has its Request-URI parsed here (the front door's stateless replies do not parse it).
   */
  mayName(rawUri: string): boolean {
    return this.suffixPattern.test(rawUri);
  }

  /** The account whose client domain `host` names (case-insensitive), if any. */
  forHost(host: string): ClientAccount | undefined {
    return this.byDomain.get(host.toLowerCase());
  }

  /** Whether `identity` is a configured client of the account. */
  has(account: string, identity: string): boolean {
    return this.byName.get(account)?.clients.has(identity) ?? false;
  }

  /** `sip:<identity>@<domain>` */
  aor(account: ClientAccount, identity: string): string {
    return `sip:${identity}@${account.domain}`;
  }
}
