/**
 * The options and help of `at-pki generate --format esp-secure-cert|cust-flash`, apart from the code
 * that builds the image (secure-cert-generate.ts), so registering `generate` stays light.
 */
import type { Command } from 'commander';

/** What `generate --format` takes: ESP-AT's PKI bin, or the esp_secure_cert partition (TLV, legacy cust_flash). */
export const OUTPUT_FORMATS = ['atpki', 'esp-secure-cert', 'cust-flash', 'nvs', 'mfg-nvs'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What configure_esp_secure_cert.py writes. */
export const DEFAULT_SECURE_CERT_OUTPUT = 'esp_secure_cert.bin';

export interface SecureCertOptions {
  caCert?: string;
  deviceCert?: string;
  privateKey?: string;
  /** Image to append an INTEGRITY entry to. */
  appendIntegrity?: string;
  /** DS peripheral: refused (needs eFuse provisioning). */
  configureDs?: boolean;
}

const FLAGS: Readonly<Record<keyof SecureCertOptions, string>> = {
  caCert: '--ca-cert',
  deviceCert: '--device-cert',
  privateKey: '--private-key',
  appendIntegrity: '--append-integrity',
  configureDs: '--configure-ds',
};

/** The esp_secure_cert options given, as flags (for refusing them with --format atpki). */
export function secureCertOptionsUsed(options: SecureCertOptions): string[] {
  return (Object.keys(FLAGS) as (keyof SecureCertOptions)[]).filter((name) => options[name] !== undefined).map((name) => FLAGS[name]);
}

export function addSecureCertOptions(command: Command): void {
  command
    .option('--ca-cert <file>', 'esp_secure_cert: the CA certificate (PEM or DER)')
    .option('--device-cert <file>', 'esp_secure_cert: the device certificate (PEM or DER)')
    .option('--private-key <file>', 'esp_secure_cert: the device private key (PEM or DER, RSA or EC, unencrypted)')
    .option('--append-integrity <image>', 'esp_secure_cert: append an INTEGRITY entry to this image (written to -o, default: in place)')
    .option('--configure-ds', 'esp_secure_cert: keep the key in the DS peripheral (refused: needs eFuse provisioning)');
}

export const SECURE_CERT_HELP = `
--format esp-secure-cert (or cust-flash):
  Builds the esp_secure_cert partition of esp_secure_cert_mgr from --ca-cert, --device-cert and
  --private-key (any of them; cust-flash needs the device certificate and the key), byte for byte
  as configure_esp_secure_cert.py 2.6.1 writes it without the DS peripheral: TLV entries CA_CERT,
  DEV_CERT, PRIV_KEY (subtype 0), then INTEGRITY (SHA-256 of the image); certificates re-encoded as
  canonical PEM + NUL (only the first certificate of a file) or DER; keys as PKCS#1 (RSA) or SEC1
  (EC). cust-flash is the legacy fixed-offset layout (24 KiB), read only by firmware built with
  CONFIG_ESP_SECURE_CERT_SUPPORT_LEGACY_FORMATS. Default output: ${DEFAULT_SECURE_CERT_OUTPUT}.
  Validation as above: the key must belong to the device certificate, which must verify with the CA.
  Encrypted keys are refused (decrypt them first). --configure-ds is refused: DS peripheral and
  eFuse keys need the ROM serial loader (espefuse.py), which ESP-AT cannot reach.
  --append-integrity IMAGE does what configure_esp_secure_cert.py --append-integrity does: appends
  INTEGRITY/<highest+1> over the whole image and the end marker ff ff 00 00.
  --csv FILE.csv takes the entries from configure_esp_secure_cert.py's CSV instead, one per row in
  row order, then INTEGRITY/0: tlv_type,tlv_subtype,data_value,data_type[,priv_key_type,...] with
  tlv_type ESP_SECURE_CERT_CA_CERT_TLV, _DEV_CERT_TLV, _PRIV_KEY_TLV, _USER_DATA_1_TLV.._5_TLV (or
  0, 1, 2, 51..55), subtype 0..254, data_type file (relative to the CSV's folder), string, hex or
  base64 (certificates and keys: file or string). USER_DATA is stored as raw bytes (a string as
  UTF-8 without NUL). Each DEV_CERT/n is validated with PRIV_KEY/n and the CA certificates.
  priv_key_type rsa_ds and ecdsa_peripheral are refused like --configure-ds. Errors name the line.`;
