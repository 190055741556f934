/** Seeded fault injection for the emulator: knobs, URL syntax, the injector. */
export {
  BYTE_KNOBS,
  COMMAND_KNOBS,
  FAULT_KNOBS,
  formatFaultSpec,
  isFaultKnob,
  normalizeTrigger,
  parseFaultSpec,
} from './fault-options.js';
export type { ByteKnob, CommandKnob, FaultKnob, FaultOptions, FaultTrigger, NormalizedTrigger } from './fault-options.js';
export { DEFAULT_FAULT_SEED, RandomFaults } from './random-faults.js';
export { Prng, deriveSeed } from './prng.js';
export { LineCorruption } from './line-corruption.js';
export type { LineCorruptionOptions } from './line-corruption.js';
