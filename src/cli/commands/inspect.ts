/** `at-pki inspect FILE`: what a PKI bin (or a partition read back from a module) holds, and whether the module can use it. */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { validatePkiItems } from '../../pki/validate.js';
import type { CliIo } from '../io.js';
import { loadPkiBinFile } from '../../flash/bin-file.js';
import { addExamples, addJsonOption, printResult, type JsonOption } from '../output.js';
import { buildInspectReport, renderInspectReport } from '../pki-report.js';

export function registerInspect(program: Command, io: CliIo): void {
  const inspect = program
    .command('inspect')
    .summary('show the items of a PKI bin and check them')
    .description('Show the items of a PKI bin and check them with the validation generate does.')
    .argument('<file>', 'the bin, or a partition read-back');
  addJsonOption(inspect);
  inspect.addHelpText(
    'after',
    `
Shows type, ID, offset and length of each item; for certificates the subject, issuer, validity,
key and SHA-256 fingerprint; for keys the algorithm, size and the SHA-256 fingerprint of the public
key (never the key itself). Then the validation findings.

FILE may be a whole partition read back from a module: the bin followed by 0xFF fill.
Exit code 2 if FILE is not a valid PKI bin (the message gives the byte offset), or if validation
finds errors (the report is printed first; with --json it is in error.details.report).`,
  );
  addExamples(inspect, ['at-pki inspect client_cert.bin', 'at-pki inspect --json client_key.bin | jq .result.items']);
  inspect.action(async (file: string, options: JsonOption) => {
    const { bytes, format, bin } = await loadPkiBinFile(file);
    const validation = validatePkiItems(bin.items.map((item) => ({ type: item.type, content: item.content })));
    const report = buildInspectReport(file, bytes.length, format, bin, validation);
    const { errors } = validation;
    if (errors.length === 0) {
      printResult(io, options.json, renderInspectReport(report), report);
      return;
    }
    if (!options.json) io.stdout(`${renderInspectReport(report)}\n`);
    throw new InputError(`${file}: ${errors.length === 1 ? errors[0]!.message : `${errors.length} validation errors, the first: ${errors[0]!.message}`}`, {
      details: { report },
    });
  });
}
