/**
 * Client and conference metrics (docs/metrics.md): registrations by account
 * and transport, client requests by outcome, registrations removed by
 * reason, and conference rooms, participants, joins and refusals. Counted
 * from the layers' typed events and read from their state when scraped, on
 * the gateway's own registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClientDomain } from '../clients/client-domain.js';
import { REMOVAL_REASONS, type Registrar } from '../clients/registrar.js';
import type { Conferences } from '../conference/conferences.js';
import type { Clock } from '../limits/clock.js';
import { METRICS } from './definitions.js';

export interface ClientMetricParts {
  registrar: Registrar;
  clientDomain: ClientDomain;
  conferences: Conferences;
  clock: Clock;
}

export class ClientMetrics {
  constructor(registry: Registry, parts: ClientMetricParts) {
    const r = [registry];
    const m = METRICS;
    const { registrar, clientDomain, conferences, clock } = parts;
    new Gauge({
      name: m.clientRegistrations.name,
      help: m.clientRegistrations.help,
      labelNames: m.clientRegistrations.labels,
      registers: r,
      collect() {
        this.reset();
        const counts = new Map<string, { account: string; transport: string; n: number }>();
        for (const b of registrar.list(clock.now())) {
          const key = `${b.account}|${b.flow.transport}`;
          const c = counts.get(key) ?? { account: b.account, transport: b.flow.transport, n: 0 };
          c.n++;
          counts.set(key, c);
        }
        for (const c of counts.values()) this.set({ account: c.account, transport: c.transport }, c.n);
      },
    });
    const requests = new Counter({ name: m.clientRequests.name, help: m.clientRequests.help, labelNames: m.clientRequests.labels, registers: r });
    clientDomain.events.on('request', (method, outcome) => requests.inc({ method, outcome }));
    const removed = new Counter({ name: m.clientRegistrationsRemoved.name, help: m.clientRegistrationsRemoved.help, labelNames: m.clientRegistrationsRemoved.labels, registers: r });
    for (const reason of REMOVAL_REASONS) removed.inc({ reason }, 0);
    registrar.events.on('removed', (_b, reason) => removed.inc({ reason }));

    new Gauge({
      name: m.conferences.name,
      help: m.conferences.help,
      labelNames: m.conferences.labels,
      registers: r,
      collect() {
        this.reset();
        for (const c of conferences.liveRooms()) this.inc({ account: c.account, status: c.status });
      },
    });
    new Gauge({
      name: m.conferenceParticipants.name,
      help: m.conferenceParticipants.help,
      labelNames: m.conferenceParticipants.labels,
      registers: r,
      collect() {
        this.reset();
        for (const c of conferences.liveRooms()) this.inc({ account: c.account }, c.members.size);
      },
    });
    new Gauge({
      name: m.conferenceLargestRoom.name,
      help: m.conferenceLargestRoom.help,
      labelNames: m.conferenceLargestRoom.labels,
      registers: r,
      collect() {
        this.reset();
        const largest = new Map<string, number>();
        for (const c of conferences.liveRooms()) largest.set(c.account, Math.max(largest.get(c.account) ?? 0, c.members.size));
        for (const [account, n] of largest) this.set({ account }, n);
      },
    });
    const joins = new Counter({ name: m.conferenceJoins.name, help: m.conferenceJoins.help, labelNames: m.conferenceJoins.labels, registers: r });
    const refusals = new Counter({ name: m.conferenceRefusals.name, help: m.conferenceRefusals.help, labelNames: m.conferenceRefusals.labels, registers: r });
    conferences.events.on('joined', (c) => joins.inc({ account: c.account }));
    conferences.events.on('refused', (c, reason) => refusals.inc({ account: c.account, reason }));
  }
}
