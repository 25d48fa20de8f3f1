/**
 * The order in which one inbound call tries a trunk's origination URIs
 * (SPEC §11, the provider's docs): the lowest priority value first; among
 * URIs of equal priority, a weighted random order — the first try falls on
 * each URI with probability weight / (sum of the group's weights), the
 * second on the rest in the same way, and so on — so equal priorities share
 * the load by weight and each still backs the others up. Higher priority
 * values are tried only once every lower one has failed. Disabled URIs
 * never appear.
 */

export interface WeightedUri {
  priority: number;
  /** ≥ 1 */
  weight: number;
  enabled: boolean;
}

/** `random()` in [0, 1), injectable so tests can drive it. */
export function attemptOrder<T extends WeightedUri>(uris: readonly T[], random: () => number = Math.random): T[] {
  const groups = new Map<number, T[]>();
  for (const u of uris) {
    if (!u.enabled) continue;
    let g = groups.get(u.priority);
    if (g === undefined) groups.set(u.priority, (g = []));
    g.push(u);
  }
  const out: T[] = [];
  for (const priority of [...groups.keys()].sort((a, b) => a - b)) {
    const pool = [...(groups.get(priority) as T[])];
    let total = pool.reduce((sum, u) => sum + u.weight, 0);
    while (pool.length > 0) {
      let pick = random() * total;
      let i = 0;
      // the last one takes whatever rounding leaves
      while (i < pool.length - 1 && pick >= (pool[i] as T).weight) {
        pick -= (pool[i] as T).weight;
        i++;
      }
      const [chosen] = pool.splice(i, 1) as [T];
      total -= chosen.weight;
      out.push(chosen);
    }
  }
  return out;
}
