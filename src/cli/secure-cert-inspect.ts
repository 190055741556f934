/** `at-pki inspect` for esp_secure_cert partition images (TLV or legacy cust_flash). */
import { InputError } from '../errors.js';
import type { BinFile } from '../flash/bin-file.js';
import { inspectSecureCert } from '../pki/secure-cert/inspect.js';
import { storedCredentials, validateStoredCredentials } from '../pki/secure-cert/stored-credentials.js';
import type { CliIo } from './io.js';
import { printResult } from './output.js';
import { buildSecureCertReport, findingsOf, renderSecureCertReport } from './secure-cert-report.js';

/**
 * Print the report. A damaged image (bad CRC, cut off, hash mismatch...) or validation errors exit 2
 * after the report, like inspect of a PKI bin; with --json the report is then in error.details.report.
 */
export function inspectSecureCertFile(io: CliIo, file: BinFile, json: boolean | undefined): void {
  const inspection = inspectSecureCert(file.bytes);
  const validation = validateStoredCredentials(storedCredentials(inspection.image));
  const report = buildSecureCertReport(file.path, file.bytes.length, file.format, inspection, validation);
  const { errors } = findingsOf(report);
  if (errors.length === 0) {
    printResult(io, json, renderSecureCertReport(report), report);
    return;
  }
  if (!json) io.stdout(`${renderSecureCertReport(report)}\n`);
  const what = inspection.valid ? '' : 'damaged esp_secure_cert image: ';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length === 2 ? '' : 's'})` : '';
  throw new InputError(`${file.path}: ${what}${errors[0]}${more}`, { details: { report } });
}
