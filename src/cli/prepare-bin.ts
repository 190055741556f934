import { InputError } from '../errors.js';
import { prepareBin, type BinSource, type PreparedBin } from '../flash/bin-source.js';
import type { Finding } from '../pki/validate.js';
import type { CliIo } from './io.js';
import { printWarnings, PROGRAM_NAME } from './output.js';

/**
 * prepareBin() for a command line: notes and validation warnings go to stderr; several validation
 * errors are listed one per line before the one-line failure.
 */
export async function prepareBinForCli(io: CliIo, source: BinSource, validate: boolean): Promise<PreparedBin> {
  let prepared: PreparedBin;
  try {
    prepared = await prepareBin(source, { validate });
  } catch (error) {
    const errors = error instanceof InputError ? (error.details.errors as Finding[] | undefined) : undefined;
    if (!errors || errors.length < 2) throw error;
    for (const finding of errors) io.stderr(`${PROGRAM_NAME}: error: ${finding.message}\n`);
    throw new InputError(`validation failed with ${errors.length} errors (listed above; --no-validate writes the bin anyway)`, {
      details: error instanceof InputError ? error.details : {},
    });
  }
  printWarnings(io, prepared.notes);
  if (prepared.validation) printWarnings(io, prepared.validation.warnings.map((finding) => finding.message));
  return prepared;
}
