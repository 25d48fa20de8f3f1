/**
 * Reaching a client (SPEC §10, research §4): a `<Dial><Client>` or a call to
 * `client:NAME` rings the identity's registration over its flow; a client in
 * a call (ringing or answered) is busy — `486 Busy Here`, alert 31486 — and
 * a client with no registration is gone — `410 Gone`, alert 31480. The
 * provider reports such calls `busy` and `no-answer` (a client that is not
 * there rings out to no-answer at the provider; trunkgate answers at once).
 */
import type { AlertCode } from '../alerts/alert-codes.js';
import type { Registrar } from '../clients/registrar.js';
import type { Clock } from '../limits/clock.js';
import type { ClientBindingTarget } from './far-leg.js';
import type { CallStatus } from './voice-call.js';

export type ClientReach =
  | { kind: 'ring'; target: ClientBindingTarget; release: () => void }
  | { kind: 'busy' | 'unregistered'; status: CallStatus; sipStatus: number; alert: AlertCode; detail: string };

export interface ClientReacher {
  /** Ring the identity if it can be rung; `release` frees it when the leg ends. */
  reach(account: string, identity: string): ClientReach;
  /** The identity is in a call (it placed one) until the returned function is called. */
  occupy(account: string, identity: string): () => void;
}

/** The reacher over the registrar; without one (no client domains), every client is unregistered. */
export function clientReacher(registrar: Registrar | undefined, clock: Clock, domainOf: (account: string) => string): ClientReacher {
  return {
    reach(account, identity) {
      const binding = registrar?.lookup(account, identity, clock.now());
      if (registrar === undefined || binding === undefined) {
        return { kind: 'unregistered', status: 'no-answer', sipStatus: 410, alert: 31480, detail: `client:${identity} is not registered: 410 Gone` };
      }
      if (registrar.isBusy(account, identity)) {
        return { kind: 'busy', status: 'busy', sipStatus: 486, alert: 31486, detail: `client:${identity} is in a call: 486 Busy Here` };
      }
      const release = registrar.occupy(account, identity);
      return { kind: 'ring', target: { kind: 'binding', binding, aor: `sip:${identity}@${domainOf(account)}` }, release };
    },
    occupy(account, identity) {
      return registrar === undefined ? () => undefined : registrar.occupy(account, identity);
    },
  };
}
