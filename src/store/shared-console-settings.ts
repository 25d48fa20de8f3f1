/**
 * The Console's CPS settings kept in the shared store (limits.store: redis),
 * mirrored here so the hot path reads them without a round trip. A change
 * made through any instance is written to the store and announced; every
 * instance updates its mirror from the announcement, and reads all of them
 * again whenever it (re)connects. If the store lost them (a restart without
 * persistence), the instances write back what they knew.
 */
import type { ConsoleSettings, CpsSetting } from '../limits/console-settings.js';
import type { CpsScope } from '../limits/cps-scope.js';
import type { SharedLimitsBackend } from './redis-backend.js';

function parse(json: string): CpsSetting | undefined {
  try {
    const v = JSON.parse(json) as { cps?: unknown; pending?: { cps?: unknown; effectiveAtMs?: unknown } | null };
    if (typeof v.cps !== 'number') return undefined;
    const p = v.pending;
    const pending = p !== null && p !== undefined && typeof p.cps === 'number' && typeof p.effectiveAtMs === 'number' ? { cps: p.cps, effectiveAtMs: p.effectiveAtMs } : undefined;
    return { cps: v.cps, pending };
  } catch {
    return undefined;
  }
}

function serialize(s: CpsSetting): string {
  return JSON.stringify({ cps: s.cps, pending: s.pending ?? null });
}

export class SharedConsoleSettings implements ConsoleSettings {
  private readonly byScope = new Map<string, CpsSetting>();

  constructor(
    private readonly backend: SharedLimitsBackend,
    /** A round trip failed (for the metrics). */
    private readonly failed: (err: Error) => void = () => undefined,
  ) {
    backend.events.on('consoleChanged', (scopeId, json) => {
      const setting = json === undefined ? undefined : parse(json);
      if (setting === undefined) this.byScope.delete(scopeId);
      else this.byScope.set(scopeId, setting);
    });
    backend.events.on('ready', () => {
      this.resync().catch((err: unknown) => this.failed(err instanceof Error ? err : new Error(String(err))));
    });
  }

  get(scope: CpsScope): CpsSetting | undefined {
    return this.byScope.get(scope.id);
  }

  /** Written to the store first; the mirror follows once the store has it. Rejects when the store cannot be reached. */
  async set(scope: CpsScope, setting: CpsSetting): Promise<void> {
    try {
      await this.backend.consoleWrite(scope.id, serialize(setting));
    } catch (err) {
      this.failed(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.byScope.set(scope.id, setting);
  }

  /** Write back what the store lost, then read every setting. */
  async resync(): Promise<void> {
    await this.backend.consoleRestore(new Map([...this.byScope].map(([id, s]) => [id, serialize(s)])));
    const all = await this.backend.consoleReadAll();
    this.byScope.clear();
    for (const [id, json] of all) {
      const s = parse(json);
      if (s !== undefined) this.byScope.set(id, s);
    }
  }
}
