/**
 * What the HTTP layer serves for watching calls: a call's SIP messages (JSON
 * and pcap), and the status page's snapshot. It reads the observability
 * parts and the admin views; it owns no state.
 */
import type { Alert } from '../alerts/alert-log.js';
import { type Result, errorOf } from '../errors.js';
import type { CallCapture, CaptureOutcome, Leg } from '../observability/message-store.js';
import type { Observability } from '../observability/observability.js';
import { PCAP_CONTENT_TYPE, writePcap } from '../observability/pcap.js';
import type { Refusal } from '../observability/refusal-log.js';
import { parseMessage } from '../sip/message/index.js';
import type { Endpoint } from '../sip/transport/index.js';
import type { CallView, TrunkView } from './admin-api.js';

export interface MessageView {
  /** ISO-8601, millisecond precision. */
  time: string;
  /** Seen from trunkgate: `in` arrived, `out` was sent. */
  direction: 'in' | 'out';
  /** `a`: the PBX's leg; `b`: our leg to a carrier. */
  leg: Leg;
  transport: string;
  source: Endpoint;
  destination: Endpoint;
  /** The request or status line. */
  firstLine: string;
  /** The whole message as it crossed the wire. */
  text: string;
}

export interface CapturedCallSummary {
  /** Our call id (CA…), for admitted calls; null for refused or dropped ones. */
  id: string | null;
  /** SIP Call-IDs: the A-leg's first, then the carrier leg's. */
  callIds: string[];
  trunk: string | null;
  region: string | null;
  outcome: CaptureOutcome;
  startedAt: string;
  /** User parts of the INVITE's From and Request-URI. */
  from: string | null;
  to: string | null;
  messageCount: number;
}

export interface CapturedCallView extends CapturedCallSummary {
  /** Messages past observability.messageStore.maxMessagesPerCall, not kept. */
  omitted: number;
  messages: MessageView[];
}

export interface StatusRegionView {
  region: string;
  cpsLimit: number;
  offeredPerSecond: number;
  admittedPerSecond: number;
  activeCalls: number;
}

export interface StatusTrunkView {
  name: string;
  terminationUri: string;
  account: string;
  accountType: string;
  homeRegion: string;
  route: string;
  concurrency: TrunkView['concurrency'];
  /** The home region, and every other region with calls, traffic or a CPS of its own. */
  regions: StatusRegionView[];
}

export interface StatusView {
  time: string;
  trunks: StatusTrunkView[];
  activeCalls: number;
  calls: CallView[];
  refusals: Array<Omit<Refusal, 'time'> & { time: string }>;
  alerts: Alert[];
  recentCalls: CapturedCallSummary[];
}

export interface ObservabilityApi {
  messages(id: string): Result<CapturedCallView>;
  pcap(id: string): Result<{ contentType: string; filename: string; body: Buffer }>;
  status(): Promise<StatusView>;
}

/** What the views read besides the observability parts: the admin API's own views. */
export interface StatusSources {
  trunks(): Promise<TrunkView[]>;
  calls(): CallView[];
  alerts(): Alert[];
  now(): number;
}

const LIST_LIMIT = 30;

export class ObservabilityViews implements ObservabilityApi {
  private readonly parties = new WeakMap<CallCapture, { from: string | null; to: string | null }>();

  constructor(
    private readonly parts: Observability,
    private readonly sources: StatusSources,
    private readonly maxCalls: () => number,
  ) {}

  private find(id: string): Result<CallCapture> {
    const capture = this.parts.store.find(id);
    return capture === undefined ? { ok: false, error: errorOf('MESSAGES_NOT_FOUND', id, this.maxCalls()) } : { ok: true, value: capture };
  }

  messages(id: string): Result<CapturedCallView> {
    const found = this.find(id);
    if (!found.ok) return found;
    const c = found.value;
    return {
      ok: true,
      value: {
        ...this.summary(c),
        omitted: c.omitted,
        messages: c.messages.map((m) => {
          const text = m.bytes.toString('utf8');
          const eol = text.indexOf('\r\n');
          return {
            time: new Date(m.time).toISOString(),
            direction: m.direction,
            leg: m.leg,
            transport: m.transport,
            source: m.source,
            destination: m.destination,
            firstLine: eol === -1 ? text : text.slice(0, eol),
            text,
          };
        }),
      },
    };
  }

  pcap(id: string): Result<{ contentType: string; filename: string; body: Buffer }> {
    const found = this.find(id);
    if (!found.ok) return found;
    const c = found.value;
    const name = (c.id ?? c.callIds[0] ?? 'call').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
    return { ok: true, value: { contentType: PCAP_CONTENT_TYPE, filename: `${name}.pcap`, body: writePcap(c.messages) } };
  }

  async status(): Promise<StatusView> {
    const views = await this.sources.trunks();
    const now = this.sources.now();
    const calls = this.sources.calls();
    const perRegion = new Map<string, number>();
    for (const c of calls) perRegion.set(`${c.trunk}\u0000${c.region}`, (perRegion.get(`${c.trunk}\u0000${c.region}`) ?? 0) + 1);
    const traffic = this.parts.traffic;
    const trunks = views.map((t): StatusTrunkView => ({
      name: t.name,
      terminationUri: t.terminationUri,
      account: t.account.name,
      accountType: t.account.type,
      homeRegion: t.homeRegion,
      route: t.route,
      concurrency: t.concurrency,
      regions: t.regions
        .map((r) => ({ region: r.region, cpsLimit: r.cps, ...traffic.rates(t.name, r.region), activeCalls: perRegion.get(`${t.name}\u0000${r.region}`) ?? 0, source: r.source }))
        .filter((r) => r.region === t.homeRegion || r.activeCalls > 0 || r.offeredPerSecond > 0 || r.source === 'console')
        .map(({ source: _source, ...r }) => r),
    }));
    const alerts = this.sources.alerts();
    return {
      time: new Date(now).toISOString(),
      trunks,
      activeCalls: calls.length,
      calls: calls.slice(-LIST_LIMIT).reverse(),
      refusals: traffic.recentRefusals(LIST_LIMIT).map((r) => ({ ...r, time: new Date(r.time).toISOString() })),
      alerts: alerts.slice(-LIST_LIMIT).reverse(),
      recentCalls: this.parts.store.recent(LIST_LIMIT).map((c) => this.summary(c)),
    };
  }

  private summary(c: CallCapture): CapturedCallSummary {
    return {
      id: c.id ?? null,
      callIds: [...c.callIds],
      trunk: c.trunk ?? null,
      region: c.region ?? null,
      outcome: c.outcome,
      startedAt: new Date(c.startedAt).toISOString(),
      ...this.partiesOf(c),
      messageCount: c.messages.length,
    };
  }

  /** Caller and called, read once from the capture's first INVITE. */
  private partiesOf(c: CallCapture): { from: string | null; to: string | null } {
    let p = this.parties.get(c);
    if (p === undefined) {
      const first = c.messages[0];
      const parsed = first === undefined ? undefined : parseMessage(first.bytes);
      const msg = parsed?.ok === true && parsed.message.isRequest ? parsed.message : undefined;
      p = { from: userOf(msg?.from?.uri), to: msg?.requestUri?.user ?? null };
      this.parties.set(c, p);
    }
    return p;
  }
}

function userOf(uri: string | undefined): string | null {
  if (uri === undefined) return null;
  const m = /^(?:sips?|tel):([^@;?>]+)/i.exec(uri);
  return m?.[1] ?? null;
}
