/**
 * What a reload cannot change (SPEC §7.1): listen addresses and transport
 * limits are bound at start. A reload applies everything else and warns
 * about these.
 */
import type { Config } from './schema.js';

const SIP_RESTART_ONLY = ['tcpIdleTimeoutMs', 'maxMessageBytes', 'tcpMessageTimeoutMs', 'maxTcpConnections', 'maxTcpConnectionsPerSource', 'advertisedAddress', 'wsPingIntervalMs'] as const;

/** One warning per setting that changed but takes effect only on restart. */
export function restartOnlyChanges(before: Config, after: Config): string[] {
  const warnings: string[] = [];
  if (JSON.stringify(before.sip.listen) !== JSON.stringify(after.sip.listen)) warnings.push('sip.listen changes take effect on restart');
  if (
    before.http.listen !== after.http.listen ||
    before.http.token !== after.http.token ||
    before.http.metricsRequireToken !== after.http.metricsRequireToken ||
    JSON.stringify(before.http.allowedHosts) !== JSON.stringify(after.http.allowedHosts)
  ) {
    warnings.push('http.listen, http.token, http.allowedHosts and http.metricsRequireToken changes take effect on restart');
  }
  for (const key of SIP_RESTART_ONLY) {
    if (before.sip[key] !== after.sip[key]) warnings.push(`sip.${key} changes take effect on restart`);
  }
  // the limit store is connected at start (SPEC §12)
  if (JSON.stringify(before.limits) !== JSON.stringify(after.limits)) warnings.push('limits.* changes take effect on restart');
  if (before.instance !== after.instance) warnings.push('instance changes take effect on restart');
  return warnings;
}
