/**
 * Warnings about a valid configuration: things the schema accepts but that
 * are almost certainly not what was meant. `trunkgate check-config` prints
 * them (and fails on them with --strict); the gateway prints them at start.
 */
import { parseCidr } from './cidr.js';
import type { ConfigProblem } from './load.js';
import type { Config } from './schema.js';

/** The network address of an IPv4/IPv6 address under a prefix, as text; undefined when `text` is not a CIDR. */
export function networkOf(text: string): { network: string; hostBitsSet: boolean } | undefined {
  const c = parseCidr(text);
  if (c === undefined) return undefined;
  const bytes = c.family === 'ipv4' ? c.address.split('.').map(Number) : ipv6Bytes(c.address);
  let hostBitsSet = false;
  const masked = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, c.prefix - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((b & ~mask & 0xff) !== 0) hostBitsSet = true;
    return b & mask;
  });
  const network = c.family === 'ipv4' ? masked.join('.') : ipv6Text(masked);
  return { network: `${network}/${c.prefix}`, hostBitsSet };
}

function ipv6Bytes(address: string): number[] {
  // an embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function ipv6Text(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16));
  // the longest run of zero groups (two or more) becomes ::
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at === -1) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** Warnings about a configuration that passed validation, each with its path. */
export function lintConfig(config: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  if (config.trunks.length === 0) {
    warnings.push({
      path: 'trunks',
      value: undefined,
      message: `no trunks: every INVITE names no trunk and gets ${config.sip.unknownDomain === 'reject' ? '403 Forbidden' : 'no answer at all (sip.unknownDomain: drop)'}; add one under trunks (see docs/configuration.md)`,
    });
  }
  config.trunks.forEach((trunk, i) => {
    if (trunk.auth.ipAcl.length === 0 && trunk.auth.credentials.length === 0) {
      warnings.push({
        path: `trunks[${i}].auth`,
        value: undefined,
        message: `neither ipAcl nor credentials: trunk "${trunk.name}" refuses every call with 403 Forbidden (alert 32200), as the provider does; add auth.ipAcl (e.g. ["127.0.0.0/8"]) or auth.credentials`,
      });
    }
    trunk.auth.ipAcl.forEach((cidr, j) => {
      const n = networkOf(cidr);
      if (n?.hostBitsSet === true) {
        warnings.push({
          path: `trunks[${i}].auth.ipAcl[${j}]`,
          value: cidr,
          message: `host bits set: this means the network ${n.network}; write ${n.network}, or /${parseCidr(cidr)?.family === 'ipv4' ? 32 : 128} for that one address`,
        });
      }
    });
  });
  return warnings;
}
