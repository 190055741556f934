/** The esp_secure_cert reference vectors (test/vectors/esp_secure_cert), found by walking the folder. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './paths.js';

export const secureCertVectorsDir = resolve(repoRoot, 'test/vectors/esp_secure_cert');
export const upstreamDir = join(secureCertVectorsDir, 'upstream');

/**
 * How a case was made: `tlv` (--secure_cert_type cust_flash_tlv, the default), `cust-flash` (the
 * legacy layout), `append-integrity` (--append-integrity over the bin in inputs/), or something
 * at-pki does not write (`unsupported`, with the reason): NVS images, DS peripheral keys, CSV input,
 * older tool versions (`tlv_v2.0.1_...`).
 */
export type SecureCertVectorKind = 'tlv' | 'cust-flash' | 'append-integrity' | 'unsupported';

export interface SecureCertVector {
  name: string;
  dir: string;
  kind: SecureCertVectorKind;
  /** Why at-pki cannot write it, for `unsupported`. */
  reason?: string;
  /** Input files by role (paths). */
  caCert?: string;
  deviceCert?: string;
  privateKey?: string;
  /** The image `--append-integrity` was run over. */
  inputImage?: string;
  /** The one file of output/. */
  outputPath: string;
  output: Buffer;
}

/** Every case folder (new ones are picked up automatically). */
export function secureCertVectors(): SecureCertVector[] {
  return readdirSync(secureCertVectorsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'upstream')
    .map((entry) => {
      const dir = join(secureCertVectorsDir, entry.name);
      const outputs = readdirSync(join(dir, 'output'));
      if (outputs.length !== 1) throw new Error(`${dir}/output should hold exactly one file, holds ${outputs.join(', ')}`);
      const outputPath = join(dir, 'output', outputs[0]!);
      const vector: SecureCertVector = { name: entry.name, dir, kind: 'tlv', outputPath, output: readFileSync(outputPath) };
      for (const name of readdirSync(join(dir, 'inputs'))) {
        const path = join(dir, 'inputs', name);
        if (name.startsWith('ca_cert')) vector.caCert = path;
        else if (name.startsWith('device_cert')) vector.deviceCert = path;
        else if (name.startsWith('priv_key')) vector.privateKey = path;
        else if (name.endsWith('.bin')) vector.inputImage = path;
        else if (name.endsWith('.csv')) vector.reason = 'CSV input (--esp_secure_cert_csv)';
        else vector.reason = `an input file at-pki does not know: ${name}`;
      }
      if (entry.name.startsWith('legacy_nvs')) vector.reason = 'the legacy NVS layout';
      else if (/^tlv_v\d/.test(entry.name)) vector.reason = 'the output of an older tool version (read only)';
      else if (/_ds_|_ds$|peripheral/.test(entry.name)) vector.reason ??= 'a DS peripheral / eFuse key';
      if (vector.reason !== undefined) vector.kind = 'unsupported';
      else if (vector.inputImage !== undefined) vector.kind = 'append-integrity';
      else if (entry.name.startsWith('legacy_cust_flash')) vector.kind = 'cust-flash';
      return vector;
    });
}

export interface UpstreamImage {
  name: string;
  path: string;
  bytes: Buffer;
  /** Named `*corrupt*`: damaged on purpose. */
  corrupt: boolean;
}

export function upstreamImages(): UpstreamImage[] {
  return readdirSync(upstreamDir)
    .filter((name) => name.endsWith('.bin'))
    .map((name) => ({ name, path: join(upstreamDir, name), bytes: readFileSync(join(upstreamDir, name)), corrupt: name.includes('corrupt') }));
}
