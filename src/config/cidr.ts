/** IPv4/IPv6 CIDR blocks for IP ACLs (SPEC §4.2 check 3). */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Verdicts remembered per matcher: a PBX sends from a handful of addresses; a flood of others only refills it. */
const VERDICT_CACHE_SIZE = 1024;

/**
 * A matcher over CIDRs (node's BlockList: IPv4-mapped IPv6 addresses match
 * IPv4 rules too). BlockList.check builds a SocketAddress per call, so the
 * verdicts of recent addresses are remembered (bounded; the list never
 * changes: a reload compiles a new matcher).
 */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c !== undefined) list.addSubnet(c.address, c.prefix, c.family);
  }
  const check = (address: string): boolean => {
    const v = isIP(address);
    if (v === 0) return false;
    if (list.check(address, v === 4 ? 'ipv4' : 'ipv6')) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped !== null && list.check(mapped[1] as string, 'ipv4');
  };
  const verdicts = new Map<string, boolean>();
  return (address: string) => {
    let verdict = verdicts.get(address);
    if (verdict === undefined) {
      verdict = check(address);
      if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.clear();
      verdicts.set(address, verdict);
    }
    return verdict;
  };
}
