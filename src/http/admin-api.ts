/**
 * What the HTTP layer may read and ask for, and the JSON shapes it serves.
 * `Admin` (admin.ts) implements it over the gateway's parts; the HTTP layer
 * owns no state of its own (STYLE: http reads state).
 */
import type { Alert } from '../alerts/alert-log.js';
import type { Result } from '../errors.js';
import type { CpsChangeBody } from './bodies.js';
import type { ObservabilityApi } from './observability-views.js';

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
}

export interface TrunkView {
  name: string;
  terminationUri: string;
  account: { name: string; sid: string; type: string; legacy: boolean; active: boolean };
  homeRegion: string;
  route: string;
  cpsAlgorithm: string;
  regions: RegionCpsView[];
  pooledCps: Record<string, number> | null;
  concurrency: { active: number; trunkCap: number | null; accountActive: number; accountCap: number | null };
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

export interface AdminApi {
  /** Calls' SIP messages, pcap, and the status page's snapshot. */
  readonly observability: ObservabilityApi;
  /** Prometheus text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** Listening and not draining. */
  ready(): boolean;
  trunks(): TrunkView[];
  trunk(name: string): TrunkView | undefined;
  setCps(name: string, body: CpsChangeBody): Result<TrunkView>;
  calls(): CallView[];
  hangup(id: string): boolean;
  listAlerts(since?: { time?: number; seq?: number }): Alert[];
  reload(): Result<ReloadView>;
}
