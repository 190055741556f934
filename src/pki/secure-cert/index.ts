/**
 * The esp_secure_cert partition (esp_secure_cert_mgr): the TLV codec, the legacy cust_flash layout,
 * building images from credential files and inspecting images. Pure, no file or device I/O.
 */
export * from './crc.js';
export * from './tlv-types.js';
export * from './tlv-entry.js';
export * from './tlv-image.js';
export * from './integrity.js';
export * from './append-integrity.js';
export * from './problems.js';
export * from './ds-values.js';
export * from './signature-block.js';
export * from './credential-values.js';
export * from './credential-encoding.js';
export * from './entry-values.js';
export * from './tlv-decode.js';
export * from './cust-flash.js';
export * from './reader-view.js';
export * from './inspect.js';
export * from './stored-credentials.js';
export * from './build.js';
export * from './csv.js';
export * from './csv-build.js';
