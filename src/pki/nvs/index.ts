/** The NVS partition format (ESP-IDF non-volatile storage): encoder, decoder, the generator's CSV. */
export * from './page-header.js';
export * from './entry.js';
export * from './entry-states.js';
export * from './crc.js';
export * from './encoder.js';
export * from './decoder.js';
export * from './csv.js';
export * from './csv-image.js';
export * from './value-info.js';
export * from './detect.js';
