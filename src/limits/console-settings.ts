/**
 * Where the Console's CPS settings (SPEC §3, §7.3) are kept: in this process
 * (memory: per CPS scope, so they survive reloads and vanish with the trunk),
 * or mirrored from a shared store (limits.store: redis), so that a change
 * made through one instance applies to all. Reads are synchronous (the hot
 * path reads the CPS in force); a shared store's writes go out behind them.
 */
import type { CpsScope } from './cps-scope.js';

/** The Console's setting for one (trunk, region): wins over the file. */
export interface CpsSetting {
  cps: number;
  /** A decrease waiting for the 1st of next month. */
  pending: { cps: number; effectiveAtMs: number } | undefined;
}

export interface ConsoleSettings {
  get(scope: CpsScope): CpsSetting | undefined;
  /** In memory: at once. A shared store: a promise that rejects when the store cannot be reached. */
  set(scope: CpsScope, setting: CpsSetting): void | Promise<void>;
}

export class MemoryConsoleSettings implements ConsoleSettings {
  private readonly settings = new WeakMap<CpsScope, CpsSetting>();

  get(scope: CpsScope): CpsSetting | undefined {
    return this.settings.get(scope);
  }

  set(scope: CpsScope, setting: CpsSetting): void {
    this.settings.set(scope, setting);
  }
}
