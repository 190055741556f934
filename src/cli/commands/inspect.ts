/** `at-pki inspect FILE`: what a PKI bin or an esp_secure_cert image (or a partition read back from a module) holds, and whether the module can use it. */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { addExamples, addJsonOption, printResult, type JsonOption } from '../output.js';

export function registerInspect(program: Command, io: CliIo): void {
  const inspect = program
    .command('inspect')
    .summary('show the items of a PKI bin or esp_secure_cert image and check them')
    .description('Show the items of a PKI bin, or the entries of an esp_secure_cert partition image, and check them with the validation generate does.')
    .argument('<file>', 'the bin or image, or a partition read-back');
  addJsonOption(inspect);
  inspect.addHelpText(
    'after',
    `
Shows type, ID, offset and length of each item; for certificates the subject, issuer, validity,
key and SHA-256 fingerprint; for keys the algorithm, size and the SHA-256 fingerprint of the public
key (never the key itself). Then the validation findings.

FILE may be a whole partition read back from a module: the bin followed by 0xFF fill.
Exit code 2 if FILE is not a valid PKI bin (the message gives the byte offset), or if validation
finds errors (the report is printed first; with --json it is in error.details.report).

esp_secure_cert images (recognised by content: the TLV format, or the legacy cust_flash layout):
every entry with its type, subtype, flags, length, padding and CRC status; certificates and keys as
above; DS peripheral data and context, eFuse key of an ECDSA-peripheral key, signature blocks
(RSA ones verified), user data; what the firmware's reader API returns (device cert, CA cert,
private key type, DS context, integrity); then the problems. Exit code 2 for a damaged image (bad
CRC, cut off, INTEGRITY mismatch, unreachable entries, unusable values) or validation errors, after
the report.

NVS partition images (recognised by content: ESP-AT's mfg_nvs.bin or a read-back of mfg_nvs,
esp_secure_cert's legacy nvs layout, any nvs_partition_gen.py output): each page's state, sequence
number and header CRC; the namespaces; every key with its type, size, page/entry and value
(integers and text shown, certificates and keys described as above, never key bytes); erased
entries; what the firmware reads (ESP-AT's <ns>.0, <ns>.1... keys; esp_secure_cert's dev_cert,
ca_cert, priv_key). Exit code 2 for a damaged image (CRC mismatches, missing blob chunks, keys of
undefined namespaces) or validation errors, after the report.`,
  );
  addExamples(inspect, ['at-pki inspect client_cert.bin', 'at-pki inspect --json client_key.bin | jq .result.items', 'at-pki inspect esp_secure_cert.bin', 'at-pki inspect mfg_nvs.bin']);
  inspect.action(async (file: string, options: JsonOption) => {
    const [{ decodePkiBinFile, readBinFile }, { isNvsFormat, isSecureCertFormat }] = await Promise.all([import('../../flash/bin-file.js'), import('../../pki/detect-format.js')]);
    const loaded = await readBinFile(file);
    if (isNvsFormat(loaded.format.format)) {
      (await import('../nvs-inspect.js')).inspectNvsFile(io, loaded, options.json);
      return;
    }
    if (isSecureCertFormat(loaded.format.format)) {
      (await import('../secure-cert-inspect.js')).inspectSecureCertFile(io, loaded, options.json);
      return;
    }
    const { bytes, format, bin } = decodePkiBinFile(loaded);
    const [{ validatePkiItems }, { buildInspectReport, renderInspectReport }] = await Promise.all([import('../../pki/validate.js'), import('../pki-report.js')]);
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
