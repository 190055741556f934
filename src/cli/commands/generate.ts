/**
 * `at-pki generate`: build a PKI bin from credential files, validated first. Also registers
 * `generate_bin -b FILE`, the AtPKI.py syntax, so existing scripts keep working. With
 * `--format esp-secure-cert` it builds an esp_secure_cert partition image instead (secure-cert-generate.ts).
 */
import { Option, type Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import type { BinSource } from '../../flash/bin-source.js';
import type { parseCredentialPairs, PartitionSize } from '../../flash/credential-files.js';
import type { CliIo } from '../io.js';
import { addExamples, addJsonOption, printResult, type JsonOption } from '../output.js';
import {
  addSecureCertOptions,
  DEFAULT_SECURE_CERT_OUTPUT,
  OUTPUT_FORMATS,
  SECURE_CERT_HELP,
  secureCertOptionsUsed,
  type OutputFormat,
  type SecureCertOptions,
} from '../secure-cert-options.js';
import { addNvsGenerateOptions, NVS_HELP, nvsOptionsUsed, type NvsGenerateOptions } from '../nvs-options.js';

/** What AtPKI.py writes when -b is not given. */
export const DEFAULT_OUTPUT = 'PKI.bin';

interface GenerateOptions extends JsonOption, SecureCertOptions, NvsGenerateOptions {
  /** What to build (only `generate` has the option). @default 'atpki' */
  format?: OutputFormat;
  /** Output path (`-o` of generate, `-b` of generate_bin). Default: PKI.bin, or `<partition>.bin` with --from. */
  output?: string;
  /** Read the files of `<from>/<partition>/` instead of `<type> <file>` pairs. */
  from?: string;
  /** Refuse a bin larger than this (bytes or a partition name). */
  partitionSize?: string;
  /** Validate the items first. Commander sets it from `--no-validate`. @default true */
  validate: boolean;
  /** Every set folder below this folder → `<output>/<set>/<partition>.bin` (generate-batch.ts). */
  batch?: string;
}

const DETAILS_HELP = `
Items:
  <type> <file> pairs; type is ca, cert or key; files are PEM or DER and go into the bin unchanged.
  Items are grouped by type in the order each type first appears and numbered from 0 within their
  type, exactly as ESP-AT's AtPKI.py does. ESP-AT reads one type per partition (client_cert,
  client_key, client_ca...) and pairs cert #i with key #i by position.

--from DIR <partition>:
  The files of DIR/<partition>/ (ESP-AT's raw_data convention), sorted by name: *.pem *.der *.cer
  *.crt for ca and cert partitions, *.pem *.der *.key for key partitions. The type comes from the
  partition name (_ca, _cert, _key). The default output is then <partition>.bin.

Validation (skip with --no-validate):
  Errors, which stop the command: a cert/ca item that is not a certificate, a key item that is not
  an unencrypted private key, key #i not belonging to cert #i, a certificate that does not verify
  with the CA of the bin it names as issuer. Warnings (on stderr): expired or not yet valid
  certificates, mixed item types, unpaired certificates or keys.

The bin is written atomically (temporary file, then rename); bins holding keys are created
readable by the owner only.`;

export function registerGenerate(program: Command, io: CliIo): void {
  const generate = program
    .command('generate')
    .summary('build a PKI bin from certificate and key files')
    .description('Build an ESP-AT PKI bin (the format of AtPKI.py generate_bin), or an esp_secure_cert partition image, from certificate and key files, validated first.')
    .usage(
      '[options] <type> <file> [<type> <file> ...]\n       at-pki generate [options] --from <dir> <partition>\n       at-pki generate [options] --batch <dir> -o <outdir>\n       at-pki generate --format esp-secure-cert [--ca-cert <file>] [--device-cert <file>] [--private-key <file>] [-o <file>]\n       at-pki generate --format esp-secure-cert --csv <file.csv> [-o <file>]',
    )
    .argument('[items...]', '<type> <file> pairs, or the partition name with --from')
    .option('-o, --output <file>', `output file (default: ${DEFAULT_OUTPUT}, or <partition>.bin with --from, ${DEFAULT_SECURE_CERT_OUTPUT} for esp_secure_cert); the output folder with --batch`)
    .option('--batch <dir>', 'every set folder <dir>/<set>/ (raw_data layout: <set>/client_cert/...) → <output>/<set>/<partition>.bin, in one process')
    .addOption(new Option('--format <format>', 'atpki: ESP-AT PKI bin; esp-secure-cert: esp_secure_cert partition (TLV); cust-flash: its legacy layout; nvs: NVS partition from a CSV; mfg-nvs: ESP-AT mfg_nvs partition from raw_data').choices(OUTPUT_FORMATS).default('atpki'));
  addSecureCertOptions(generate);
  addNvsGenerateOptions(generate);
  addCommonOptions(generate);
  generate.addHelpText('after', `${DETAILS_HELP}\n${BATCH_HELP}\n${SECURE_CERT_HELP}\n${NVS_HELP}`);
  addExamples(generate, [
    'at-pki generate -o client_cert.bin cert client.crt',
    'at-pki generate -o client_ca.bin ca root.crt ca intermediate.crt',
    'at-pki generate --from components/customized_partitions/raw_data client_key',
    'at-pki generate --partition-size client_cert -o client_cert.bin cert a.crt cert b.crt',
    'at-pki generate --json cert client.crt',
    'at-pki generate --batch sets/ -o bins/',
    'at-pki generate --format esp-secure-cert --ca-cert ca.pem --device-cert device.pem --private-key device.key',
    'at-pki generate --format esp-secure-cert --csv esp_secure_cert.csv -o esp_secure_cert.bin',
    'at-pki generate --format esp-secure-cert --append-integrity esp_secure_cert.bin',
    'at-pki generate --format nvs --csv factory_nvs.csv --size 0x6000 -o factory_nvs.bin',
    'at-pki generate --format mfg-nvs --from components/customized_partitions/raw_data -o mfg_nvs.bin',
  ]);
  generate.action(async (args: string[], options: GenerateOptions) => {
    const format = options.format ?? 'atpki';
    if (format === 'nvs' || format === 'mfg-nvs') return (await import('../nvs-generate.js')).runNvsGenerate(io, args, { ...options, format });
    const nvsFlags = nvsOptionsUsed(format === 'esp-secure-cert' ? { ...options, csv: undefined } : options);
    if (nvsFlags.length > 0) throw new UsageError(`${nvsFlags.join(', ')} ${nvsFlags.length === 1 ? 'is' : 'are'} for --format nvs or mfg-nvs${nvsFlags.includes('--csv') ? ' (--csv also for esp-secure-cert)' : ''}`);
    if (options.batch !== undefined) return runBatch(io, args, { ...options, batch: options.batch });
    return format === 'atpki'
      ? runGenerate(io, args, options)
      : (await import('../secure-cert-generate.js')).runSecureCertGenerate(io, args, { ...options, format });
  });

  const compat = program
    .command('generate_bin')
    .summary('AtPKI.py-compatible form of generate (-b FILE)')
    .description("Same as 'at-pki generate', with the option names of ESP-AT's tools/AtPKI.py generate_bin, so existing scripts keep working.")
    .usage('[options] <type> <file> [<type> <file> ...]')
    .argument('[items...]', '<type> <file> pairs, or the partition name with --from')
    .option('-b, --bin_file <file>', `output file (default: ${DEFAULT_OUTPUT}, or <partition>.bin with --from)`);
  addCommonOptions(compat);
  compat.addHelpText('after', DETAILS_HELP);
  addExamples(compat, ['at-pki generate_bin -b client_cert.bin cert client_cert_00.crt cert client_cert_01.crt']);
  compat.action((args: string[], options: GenerateOptions & { bin_file?: string }) =>
    runGenerate(io, args, { ...options, output: options.bin_file }),
  );
}

function addCommonOptions(command: Command): void {
  command
    .option('--from <dir>', 'take the files of <dir>/<partition>/ (ESP-AT raw_data convention)')
    .option('--partition-size <size>', 'refuse a bin larger than this: bytes (8192, 0x2000, 8K) or a partition name (client_cert...)')
    .option('--no-validate', 'write the bin even if validation finds errors');
  addJsonOption(command);
}

const BATCH_HELP = `
--batch DIR -o OUTDIR:
  Every folder DIR/<set>/ is a set of raw_data folders (DIR/<set>/client_cert/, .../client_key/...);
  each of its partition folders becomes OUTDIR/<set>/<partition>.bin, exactly as --from DIR/<set>
  <partition> makes it, with the same validation. Every set is built and checked before anything is
  written: a bad set stops the command with one line naming the set and the file, and OUTDIR is left
  as it was. Folders whose names do not end in _ca, _cert or _key are skipped with a warning.
  --partition-size takes bytes here (every bin is checked against it).`;

async function runBatch(io: CliIo, args: readonly string[], options: GenerateOptions & { batch: string }): Promise<void> {
  const misplaced = [...secureCertOptionsUsed(options), ...(options.from === undefined ? [] : ['--from'])];
  if (options.format !== undefined && options.format !== 'atpki') misplaced.push(`--format ${options.format}`);
  if (misplaced.length > 0) throw new UsageError(`--batch builds PKI bins from raw_data folders: ${misplaced.join(', ')} cannot be used with it`);
  await (await import('../generate-batch.js')).runGenerateBatch(io, args, { ...options, batch: options.batch });
}

async function runGenerate(io: CliIo, args: readonly string[], options: GenerateOptions): Promise<void> {
  const misplaced = secureCertOptionsUsed(options);
  if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')} ${misplaced.length === 1 ? 'is' : 'are'} for --format esp-secure-cert (or cust-flash)`);
  // The implementation, loaded when the command runs (see program.ts).
  const [{ parseCredentialPairs, parsePartitionSize }, { layoutPkiBin }, { describeItem }, { prepareBinForCli }, { writeFileAtomic }] = await Promise.all([
    import('../../flash/credential-files.js'),
    import('../../pki/bin-format.js'),
    import('../../pki/types.js'),
    import('../prepare-bin.js'),
    import('../write-file-atomic.js'),
  ]);
  const limit = options.partitionSize === undefined ? undefined : parsePartitionSize(options.partitionSize);
  const { source, output } = sourceOf(args, options, parseCredentialPairs);
  const { bin, items, validation, ignored } = await prepareBinForCli(io, source, options.validate);

  if (limit !== undefined && bin.length > limit.bytes) {
    throw new InputError(`the bin is ${bin.length} bytes, ${bin.length - limit.bytes} more than ${describeLimit(limit)} holds`, {
      details: { size: bin.length, partitionSize: limit.bytes, ...(limit.partition ? { partition: limit.partition } : {}) },
    });
  }
  const holdsKey = items.some((item) => item.type === 'key');
  await writeFileAtomic(output, bin, { mode: holdsKey ? 0o600 : 0o644 });

  const slots = layoutPkiBin(items).slots.map(({ item, id, offset }) => ({
    type: item.type,
    id,
    offset,
    length: item.content.length,
    source: item.source,
  }));
  const fit = limit === undefined ? '' : `; ${limit.bytes - bin.length} of the ${limit.bytes} bytes of ${describeLimit(limit)} left`;
  const labels = slots.map((slot) => describeItem({ type: slot.type, index: slot.id }));
  const width = Math.max(...labels.map((label) => label.length));
  const human = [
    `wrote ${output}: ${bin.length} bytes, ${slots.length} item${slots.length === 1 ? '' : 's'}${fit}`,
    ...slots.map((slot, n) => `  ${labels[n]!.padEnd(width)}  ${String(slot.length).padStart(5)} bytes  ${slot.source ?? ''}`.trimEnd()),
  ].join('\n');
  printResult(io, options.json, human, {
    output,
    size: bin.length,
    count: slots.length,
    items: slots,
    partition: limit === undefined ? null : { name: limit.partition ?? null, size: limit.bytes },
    validation: validation === undefined ? null : { errors: validation.errors, warnings: validation.warnings },
    ignoredFiles: ignored,
  });
}

/** The items to read and the default output name: `<type> <file>` pairs, or `--from DIR <partition>`. */
function sourceOf(args: readonly string[], options: GenerateOptions, parsePairs: typeof parseCredentialPairs): { source: BinSource; output: string } {
  if (options.from === undefined) {
    return { source: { kind: 'files', files: parsePairs(args) }, output: options.output ?? DEFAULT_OUTPUT };
  }
  if (args.length !== 1) {
    throw new UsageError(`--from takes exactly one partition name after the options (got ${args.length === 0 ? 'none' : args.join(' ')})`);
  }
  return { source: { kind: 'dir', root: options.from, partition: args[0]! }, output: options.output ?? `${args[0]}.bin` };
}

function describeLimit(limit: PartitionSize): string {
  return limit.partition === undefined ? 'the partition' : `partition ${limit.partition}`;
}
