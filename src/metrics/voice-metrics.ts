/**
 * Programmable Voice metrics (docs/metrics.md): API requests by outcome,
 * queue depth and queue time per account, voice concurrency, calls ended,
 * webhook latency and failures. Counted from the engine's typed events and
 * read from its state when scraped, on the gateway's own registry.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { VoiceEngine } from '../voice/voice-engine.js';
import { METRICS } from './definitions.js';

export class VoiceMetrics {
  constructor(registry: Registry, voice: VoiceEngine) {
    const r = [registry];
    const m = METRICS;
    const api = new Counter({ name: m.voiceApiRequests.name, help: m.voiceApiRequests.help, labelNames: m.voiceApiRequests.labels, registers: r });
    const queueSeconds = new Histogram({ name: m.voiceQueueSeconds.name, help: m.voiceQueueSeconds.help, labelNames: m.voiceQueueSeconds.labels, buckets: [...m.voiceQueueSeconds.buckets], registers: r });
    const ended = new Counter({ name: m.voiceCallsEnded.name, help: m.voiceCallsEnded.help, labelNames: m.voiceCallsEnded.labels, registers: r });
    const webhookSeconds = new Histogram({ name: m.voiceWebhookSeconds.name, help: m.voiceWebhookSeconds.help, labelNames: m.voiceWebhookSeconds.labels, buckets: [...m.voiceWebhookSeconds.buckets], registers: r });
    const webhookFailures = new Counter({ name: m.voiceWebhookFailures.name, help: m.voiceWebhookFailures.help, labelNames: m.voiceWebhookFailures.labels, registers: r });
    const state = (): ReturnType<VoiceEngine['queueState']> => voice.queueState();
    new Gauge({
      name: m.voiceQueueDepth.name,
      help: m.voiceQueueDepth.help,
      labelNames: m.voiceQueueDepth.labels,
      registers: r,
      collect() {
        this.reset();
        for (const q of state()) this.set({ account: q.account }, q.depth);
      },
    });
    new Gauge({
      name: m.voiceQueueEstimatedWait.name,
      help: m.voiceQueueEstimatedWait.help,
      labelNames: m.voiceQueueEstimatedWait.labels,
      registers: r,
      collect() {
        this.reset();
        for (const q of state()) if (Number.isFinite(q.tailWaitSeconds)) this.set({ account: q.account }, q.tailWaitSeconds);
      },
    });
    new Gauge({
      name: m.voiceActiveCalls.name,
      help: m.voiceActiveCalls.help,
      labelNames: m.voiceActiveCalls.labels,
      registers: r,
      collect() {
        this.reset();
        for (const q of state()) this.set({ account: q.account }, q.active);
      },
    });
    new Gauge({
      name: m.voiceConcurrencyLimit.name,
      help: m.voiceConcurrencyLimit.help,
      labelNames: m.voiceConcurrencyLimit.labels,
      registers: r,
      collect() {
        this.reset();
        for (const q of state()) if (q.cap !== null) this.set({ account: q.account }, q.cap);
      },
    });
    voice.events.on('apiRequest', (operation, outcome) => api.inc({ operation, outcome }));
    voice.events.on('placed', (account, seconds) => queueSeconds.observe({ account }, seconds));
    voice.events.on('ended', (account, status, direction) => ended.inc({ account, status, direction }));
    voice.webhooks.events.on('done', (kind, seconds, failure) => {
      webhookSeconds.observe({ kind }, seconds);
      if (failure !== undefined) webhookFailures.inc({ kind, reason: failure });
    });
  }
}
