/** The PKI layer: the bin codec, content parsing and validation. Pure, no file or device I/O. */
export * from './types.js';
export * from './bin-format.js';
export * from './credential.js';
export * from './validate.js';
export * from './detect-format.js';
