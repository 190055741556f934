/**
 * Process-wide registry of named emulators, so a test can create and inspect "unit1" while the
 * code under test opens `mock://esp32c3?id=unit1`. The map hangs off globalThis (Symbol.for) so
 * that a second copy of this module (e.g. dist/ next to the sources) still shares it.
 */
import { EspAtEmulator } from './emulator.js';
import type { EspAtEmulatorOptions } from './emulator-options.js';

const REGISTRY_KEY = Symbol.for('at-pki.mock-device.emulators');

function registry(): Map<string, EspAtEmulator> {
  const holder = globalThis as unknown as Record<symbol, Map<string, EspAtEmulator> | undefined>;
  return (holder[REGISTRY_KEY] ??= new Map());
}

/**
 * Create (or replace) the emulator named `id`. A replaced one is unplugged and disposed.
 * Options as for `new EspAtEmulator()`; default startup `boot`.
 */
export function createEmulator(id: string, options: EspAtEmulatorOptions = {}): EspAtEmulator {
  removeEmulator(id);
  const emulator = new EspAtEmulator(options);
  registry().set(id, emulator);
  return emulator;
}

export function getEmulator(id: string): EspAtEmulator | undefined {
  return registry().get(id);
}

/** Names of all registered emulators. */
export function emulatorIds(): string[] {
  return [...registry().keys()];
}

/** Unplug (attached transports disconnect), dispose and forget one emulator. */
export function removeEmulator(id: string): boolean {
  const emulator = registry().get(id);
  if (!emulator) return false;
  registry().delete(id);
  emulator.unplug();
  emulator.dispose();
  return true;
}

/** Remove every registered emulator (use in afterEach). */
export function resetEmulators(): void {
  for (const id of emulatorIds()) removeEmulator(id);
}
