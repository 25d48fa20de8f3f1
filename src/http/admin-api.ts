/**
 * What the HTTP layer may read and ask for, and the JSON shapes it serves.
 * `Admin` (admin.ts) implements it over the gateway's parts; the HTTP layer
 * owns no state of its own (STYLE: http reads state).
 */
import type { ClientsView } from '../clients/client-domain.js';
import type { ConferenceApi } from '../voice/conference-api.js';
import type { Alert } from '../alerts/alert-log.js';
import type { Result } from '../errors.js';
import type { VoiceApi } from '../voice/voice-api-types.js';
import type { BanKind, BanView } from '../termination/digest-guard.js';
import type { CpsChangeBody } from './bodies.js';
import type { ObservabilityApi } from './observability-views.js';
import type { OriginationApi } from './origination-routes.js';

export interface RegionCpsView {
  region: string;
  /** CPS in force now. */
  cps: number;
  /** Where it comes from: the config file, or the Console API. */
  source: 'config' | 'console';
  /** A scheduled decrease (effective: next-month), if any. */
  pending: { cps: number; effectiveAt: string } | null;
  /** Admissions available right now (token-bucket tokens or window room); null before the first call. */
  available: number | null;
  burst: number;
  /** How early (ms) a setup may come and still be admitted (token bucket; 0 for the windows). */
  toleranceMs: number;
}

export interface TrunkView {
  name: string;
  terminationUri: string;
  account: { name: string; sid: string; type: string; legacy: boolean; active: boolean };
  homeRegion: string;
  route: string;
  cpsAlgorithm: string;
  /** True when tokens and active calls are every instance's (limits.store: redis, reachable); false: this instance's own. */
  sharedState: boolean;
  regions: RegionCpsView[];
  pooledCps: Record<string, number> | null;
  /** `active`/`accountActive`: leases held (across instances with a shared store); `thisInstance`/`accountThisInstance`: this instance's. */
  concurrency: { active: number; trunkCap: number | null; accountActive: number; accountCap: number | null; thisInstance: number; accountThisInstance: number };
  auth: { ipAcl: string[]; credentialUsernames: string[] };
  maxCallDurationSeconds: number;
  /** For route builtin: how long the PSTN emulator rings before answering, by default (ms); null for a carrier route. */
  pstnAnswerAfterMs: number | null;
}

export interface CallView {
  id: string;
  trunk: string;
  account: string;
  region: string;
  edge: string | null;
  route: string;
  state: string;
  from: string;
  to: string;
  createdAt: string;
  answeredAt: string | null;
}

export interface ReloadView {
  trunks: number;
  accounts: number;
  warnings: string[];
}

export interface BansView {
  bans: BanView[];
  /** security.digest in force. */
  policy: { maxFailures: number; failureWindowSeconds: number; banSeconds: number; algorithms: string[]; requireUriMatch: boolean };
}

/** GET /readyz. */
export interface Readiness {
  ready: boolean;
  status: 'ready' | 'draining' | 'store-unavailable';
  /** The limit store: memory, or redis with its connection state (ready, connecting, unavailable). */
  store: { kind: string; status: string; onFailure: string };
}

export interface AdminApi {
  /** Calls' SIP messages, pcap, and the status page's snapshot. */
  readonly observability: ObservabilityApi;
  /** Prometheus text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** Listening, not draining, able to admit calls. */
  readiness(): Readiness;
  trunks(): Promise<TrunkView[]>;
  trunk(name: string): Promise<TrunkView | undefined>;
  setCps(name: string, body: CpsChangeBody): Promise<Result<TrunkView>>;
  calls(): CallView[];
  hangup(id: string): boolean;
  listAlerts(since?: { time?: number; seq?: number }): Alert[];
  reload(): Result<ReloadView>;
  /** Programmable Voice: the Calls API and the queue views (absent: not served). */
  readonly voice?: VoiceApi | undefined;
  /** Clients' registrations (GET /v1/clients; absent: not served). */
  readonly clients?: ClientsView | undefined;
  /** The Conferences and Participants resources (absent: not served). */
  readonly conferences?: ConferenceApi | undefined;
  /** Inbound load runs (/v1/origination; absent: not served). */
  readonly origination?: OriginationApi | undefined;
  /** The digest ban (GET /v1/security/bans). */
  bans(): BansView;
  /** Lift every ban; returns how many were in force. */
  clearBans(): number;
  /** Lift one ban; false when there was none. */
  clearBan(kind: BanKind, value: string): boolean;
}
