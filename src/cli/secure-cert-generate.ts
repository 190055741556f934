/**
 * `at-pki generate --format esp-secure-cert|cust-flash`: build an esp_secure_cert partition image
 * from certificate and key files (byte for byte what configure_esp_secure_cert.py 2.6.1 writes
 * without the DS peripheral), or append an INTEGRITY entry to an existing image.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { readBinFile } from '../flash/bin-file.js';
import { validationFailure } from '../flash/bin-source.js';
import { readCredentialFile } from '../flash/credential-files.js';
import { detectFormat } from '../pki/detect-format.js';
import { appendIntegrity } from '../pki/secure-cert/append-integrity.js';
import { assertPlaintextKeyStorage, buildCustFlash, buildSecureCertTlv, type BuiltSecureCert, type CredentialFile, type SecureCertCredentials } from '../pki/secure-cert/build.js';
import { buildSecureCertFromCsv } from '../pki/secure-cert/csv-build.js';
import { parseSecureCertCsv, secureCertCsvFilePaths } from '../pki/secure-cert/csv.js';
import { TLV_PARTITION_SIZE } from '../pki/secure-cert/tlv-image.js';
import { inspectSecureCert } from '../pki/secure-cert/inspect.js';
import { hexOffset } from '../pki/secure-cert/problems.js';
import { storedCredentialGroups, storedCredentials, validateStoredCredentials } from '../pki/secure-cert/stored-credentials.js';
import type { PkiItem, PkiType } from '../pki/types.js';
import type { ValidationResult } from '../pki/validate.js';
import { readRegularFile } from '../flash/regular-file.js';
import type { CliIo } from './io.js';
import { printResult, printWarnings, PROGRAM_NAME, type JsonOption } from './output.js';
import { DEFAULT_SECURE_CERT_OUTPUT, secureCertOptionsUsed, type SecureCertOptions } from './secure-cert-options.js';
import { formatTable } from './table.js';
import { writeFileAtomic } from './write-file-atomic.js';

export interface SecureCertGenerateOptions extends SecureCertOptions, JsonOption {
  format: 'esp-secure-cert' | 'cust-flash';
  output?: string;
  /** configure_esp_secure_cert.py's CSV (--format esp-secure-cert). */
  csv?: string;
  from?: string;
  partitionSize?: string;
  validate: boolean;
}

/** A CSV of at most 256 entries of a 8 KiB partition is far smaller. */
const MAX_CSV_BYTES = 1024 * 1024;

export async function runSecureCertGenerate(io: CliIo, args: readonly string[], options: SecureCertGenerateOptions): Promise<void> {
  if (args.length > 0) {
    throw new UsageError(`--format ${options.format} takes --ca-cert, --device-cert and --private-key, not <type> <file> pairs (got ${args.join(' ')})`);
  }
  if (options.from !== undefined) throw new UsageError(`--from is for --format atpki`);
  if (options.partitionSize !== undefined) throw new UsageError(`--partition-size is for --format atpki`);
  if (options.configureDs) assertPlaintextKeyStorage('ds-peripheral');
  if (options.csv !== undefined && options.appendIntegrity !== undefined) throw new UsageError('--append-integrity works on an existing image; drop --csv');
  if (options.appendIntegrity !== undefined) {
    await runAppendIntegrity(io, options.appendIntegrity, options);
    return;
  }
  const built = options.csv !== undefined ? await buildFromCsv(options.csv, options) : await buildFromFiles(options);
  printWarnings(io, built.notes);

  const inspection = inspectSecureCert(built.image);
  const problem = inspection.image.problems.find((candidate) => candidate.severity === 'error');
  if (problem) throw new Error(`the built image does not decode cleanly: ${problem.message}`);
  const validation = options.validate ? validateGroups(storedCredentialGroups(inspection.image)) : undefined;
  if (validation && validation.errors.length > 0) {
    if (validation.errors.length > 1) for (const finding of validation.errors) io.stderr(`${PROGRAM_NAME}: error: ${finding.message}\n`);
    const failure = validationFailure(validation.errors, validation.warnings);
    throw validation.errors.length > 1 ? new InputError(`validation failed with ${validation.errors.length} errors (listed above; --no-validate writes the image anyway)`, { details: failure.details }) : failure;
  }
  if (validation) printWarnings(io, validation.warnings.map((finding) => finding.message));

  const output = options.output ?? DEFAULT_SECURE_CERT_OUTPUT;
  const holdsKey = storedCredentials(inspection.image).some((item) => item.type === 'key');
  await writeFileAtomic(output, built.image, { mode: holdsKey ? 0o600 : 0o644 });
  const format = detectFormat(built.image);
  const table = formatTable(
    [{ header: 'ENTRY' }, { header: 'OFFSET' }, { header: 'LENGTH', right: true }, { header: 'STORED' }, { header: 'FROM' }],
    built.items.map((item) => [item.name, hexOffset(item.offset), String(item.length), item.stored, item.source ?? '']),
  );
  printResult(io, options.json, `wrote ${output}: ${built.image.length} bytes, ${format.description}\n${table}`, {
    output,
    format: format.format,
    size: built.image.length,
    items: built.items,
    validation: validation === undefined ? null : { errors: validation.errors, warnings: validation.warnings },
    notes: built.notes,
  });
}

async function buildFromFiles(options: SecureCertGenerateOptions): Promise<BuiltSecureCert> {
  const credentials = await readCredentials(options);
  return options.format === 'cust-flash' ? buildCustFlash(credentials) : buildSecureCertTlv(credentials);
}

/** The image of a configure_esp_secure_cert.py CSV; `file` rows are read relative to the CSV's folder. */
async function buildFromCsv(path: string, options: SecureCertGenerateOptions): Promise<BuiltSecureCert> {
  const others = secureCertOptionsUsed({ ...options, configureDs: undefined });
  if (others.length > 0) throw new UsageError(`--csv names every entry; drop ${others.join(', ')}`);
  const text = (await readRegularFile(path, { maxBytes: MAX_CSV_BYTES, tooLarge: 'too large for an esp_secure_cert CSV' })).toString('utf8');
  const rows = parseSecureCertCsv(text, path);
  const files = new Map<string, Buffer>();
  for (const file of secureCertCsvFilePaths(rows)) {
    const line = rows.find((row) => row.dataType === 'file' && row.value === file)!.line;
    try {
      files.set(file, await readRegularFile(isAbsolute(file) ? file : join(dirname(path), file), { maxBytes: TLV_PARTITION_SIZE, tooLarge: 'larger than the esp_secure_cert partition' }));
    } catch (error) {
      if (error instanceof InputError) throw new InputError(`${path} line ${line}: ${error.message}`, { cause: error, details: { ...error.details, line } });
      throw error;
    }
  }
  return buildSecureCertFromCsv(rows, files, path);
}

/** Validation of each group the firmware uses together, a finding shared by groups said once. */
function validateGroups(groups: readonly PkiItem[][]): ValidationResult {
  const results = groups.map((group) => validateStoredCredentials(group));
  const unique = <T extends { message: string }>(findings: T[]): T[] => [...new Map(findings.map((finding) => [finding.message, finding])).values()];
  return { ...results[0]!, errors: unique(results.flatMap((result) => result.errors)), warnings: unique(results.flatMap((result) => result.warnings)) };
}

async function readCredentials(options: SecureCertGenerateOptions): Promise<SecureCertCredentials> {
  const read = async (type: PkiType, path: string | undefined): Promise<CredentialFile | undefined> => {
    if (path === undefined) return undefined;
    const { content } = await readCredentialFile({ type, path });
    return { content, source: path };
  };
  const credentials: SecureCertCredentials = {};
  const caCert = await read('ca', options.caCert);
  if (caCert) credentials.caCert = caCert;
  const deviceCert = await read('cert', options.deviceCert);
  if (deviceCert) credentials.deviceCert = deviceCert;
  const privateKey = await read('key', options.privateKey);
  if (privateKey) credentials.privateKey = privateKey;
  if (!caCert && !deviceCert && !privateKey) throw new UsageError(`--format ${options.format} needs --ca-cert, --device-cert and/or --private-key (or --csv, or --append-integrity)`);
  return credentials;
}

async function runAppendIntegrity(io: CliIo, path: string, options: SecureCertGenerateOptions): Promise<void> {
  const others = secureCertOptionsUsed({ ...options, appendIntegrity: undefined, configureDs: undefined });
  if (others.length > 0) throw new UsageError(`--append-integrity works on an existing image; drop ${others.join(', ')}`);
  if (options.format !== 'esp-secure-cert') throw new UsageError('--append-integrity is for --format esp-secure-cert (the TLV format)');
  const file = await readBinFile(path);
  if (file.format.format !== 'esp-secure-cert') throw new InputError(`${path}: not an esp_secure_cert TLV image (${file.format.description})`, { details: { path } });
  const appended = appendIntegrity(file.bytes);
  const output = options.output ?? path;
  const holdsKey = storedCredentials(inspectSecureCert(appended.image).image).some((item) => item.type === 'key');
  await writeFileAtomic(output, appended.image, { mode: holdsKey ? 0o600 : 0o644 });
  printResult(
    io,
    options.json,
    `wrote ${output}: ${appended.image.length} bytes, INTEGRITY/${appended.subtype} at ${hexOffset(appended.offset)} over the ${appended.offset} bytes before it, then the end marker ff ff 00 00`,
    { output, format: 'esp-secure-cert', size: appended.image.length, integrity: { subtype: appended.subtype, offset: appended.offset } },
  );
}
