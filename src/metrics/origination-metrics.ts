/**
 * Inbound-side metrics (docs/metrics.md): inbound calls by outcome, attempts
 * at origination URIs by result, and transfers (REFER) by outcome on both
 * termination and inbound calls. Counted from the layers' typed events.
 */
import { Counter, type Registry } from 'prom-client';
import type { B2bua } from '../b2bua/b2bua.js';
import type { Origination } from '../origination/origination.js';
import { METRICS } from './definitions.js';

export class OriginationMetrics {
  constructor(registry: Registry, origination: Origination, b2bua: B2bua) {
    const r = [registry];
    const m = METRICS;
    const calls = new Counter({ name: m.originationCalls.name, help: m.originationCalls.help, labelNames: m.originationCalls.labels, registers: r });
    const attempts = new Counter({ name: m.originationAttempts.name, help: m.originationAttempts.help, labelNames: m.originationAttempts.labels, registers: r });
    const transfers = new Counter({ name: m.transfers.name, help: m.transfers.help, labelNames: m.transfers.labels, registers: r });
    origination.events.on('call', (trunk, outcome) => calls.inc({ trunk, outcome }));
    origination.events.on('attempt', (trunk, result) => attempts.inc({ trunk, result }));
    origination.events.on('transfer', (trunk, outcome) => transfers.inc({ trunk, outcome }));
    b2bua.events.on('transfer', (trunk, outcome) => transfers.inc({ trunk, outcome }));
  }
}
