/** Edges, their legacy ids and CPS regions (SPEC §2.1). */
import type { Region } from '../config/schema.js';

export interface EdgeInfo {
  edge: string;
  legacy: string;
  region: Region;
}

export const EDGES: readonly EdgeInfo[] = [
  { edge: 'ashburn', legacy: 'us1', region: 'us1' },
  { edge: 'umatilla', legacy: 'us2', region: 'us2' },
  { edge: 'dublin', legacy: 'ie1', region: 'ie1' },
  { edge: 'frankfurt', legacy: 'de1', region: 'de1' },
  { edge: 'singapore', legacy: 'sg1', region: 'sg1' },
  { edge: 'tokyo', legacy: 'jp1', region: 'jp1' },
  { edge: 'sao-paulo', legacy: 'br1', region: 'br1' },
  { edge: 'sydney', legacy: 'au1', region: 'au1' },
];

const BY_LABEL = new Map<string, EdgeInfo>();
for (const e of EDGES) {
  BY_LABEL.set(e.edge, e);
  BY_LABEL.set(e.legacy, e);
  BY_LABEL.set(`${e.edge}-ix`, e);
  BY_LABEL.set(`${e.legacy}-ix`, e);
}

/** The edge named by a host label: `ashburn`, legacy `us1`, or private interconnect `ashburn-ix`. */
export function edgeByLabel(label: string): EdgeInfo | undefined {
  return BY_LABEL.get(label.toLowerCase());
}
