/**
 * The `security` section compiled for the parts that enforce it, and the
 * start-up warnings for a gateway reachable beyond this machine (issue 12):
 * SIP on a non-loopback address without per-source rate limiting, HTTP on a
 * non-loopback address without a token. trunkgate is a test tool; these are
 * warnings, not errors, so a lab VM or a container still starts.
 */
import type { SourceRatePolicy } from '../limits/source-rate-limiter.js';
import { cidrMatcher } from './cidr.js';
import { httpListenAddress, sipListenSpecs } from './listen.js';
import type { Config } from './schema.js';

const loopback = cidrMatcher(['127.0.0.0/8', '::1/128']);

/** Whether only this machine can reach an address we listen on (a wildcard reaches every interface). */
export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || loopback(address);
}

/** One warning per exposed surface left unguarded. */
export function exposureWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const exposedSip = sipListenSpecs(config).filter((s) => !isLoopbackAddress(s.host));
  if (exposedSip.length > 0 && !config.security.sourceRateLimit.enabled) {
    const where = exposedSip.map((s) => `${s.transport}://${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`).join(', ');
    warnings.push(
      `SIP listens on ${where}, beyond loopback, without per-source rate limiting: one host can flood it. Set security.sourceRateLimit.enabled: true for an exposed deployment.`,
    );
  }
  const http = httpListenAddress(config);
  if (!isLoopbackAddress(http.host) && config.http.token === null) {
    warnings.push(`HTTP listens on ${config.http.listen}, beyond loopback, without http.token: anyone who reaches it can drive the admin API. Set http.token.`);
  }
  return warnings;
}

/** `security.sourceRateLimit` as the limiter takes it. */
export function sourceRatePolicy(config: Config): SourceRatePolicy {
  const p = config.security.sourceRateLimit;
  return { enabled: p.enabled, requestsPerSecond: p.requestsPerSecond, burst: p.burst, blockMs: p.blockSeconds * 1000 };
}
