// The server's own settings, read from the client's `rpg.languageServer` configuration section
// (and from initializationOptions, which tests and benchmarks use). Unknown or invalid values
// fall back to the defaults.

export interface ServerSettings {
  /** Quiet time after the last keystroke before a document is analysed. */
  readonly debounceMs: number;
  /** Documents above this size get one information diagnostic and no analysis. */
  readonly maxFileSizeKb: number;
  /** How often the workspace is re-scanned for finished sweeps (0: only on change events). */
  readonly sweepRescanSeconds: number;
}

export const DEFAULT_SETTINGS: ServerSettings = { debounceMs: 150, maxFileSizeKb: 1024, sweepRescanSeconds: 60 };

/** The configuration section the client contributes. */
export const SETTINGS_SECTION = 'rpg.languageServer';

export function readSettings(raw: unknown, base: ServerSettings = DEFAULT_SETTINGS): ServerSettings {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const pick = (key: keyof ServerSettings, min: number, max: number): number => {
    const v = r[key];
    return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : base[key];
  };
  return {
    debounceMs: pick('debounceMs', 0, 10_000),
    maxFileSizeKb: pick('maxFileSizeKb', 1, 1_000_000),
    sweepRescanSeconds: pick('sweepRescanSeconds', 0, 86_400),
  };
}
