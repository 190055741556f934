/** `at-pki write --port URL <partition> FILE [--offset N]`: put a file's bytes into a partition, verified. */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { addDeviceOptions, parseWholeNumber, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';
import { describeWrite } from '../write-report.js';

interface WriteOptions extends DeviceOptions {
  offset?: string;
  force?: boolean;
}

/** No ESP-AT partition is larger. */
const MAX_WRITE_FILE_BYTES = 16 * 1024 * 1024;

export function registerWrite(program: Command, io: CliIo): void {
  const command = program
    .command('write')
    .summary("write a file's bytes into a partition (raw, verified)")
    .description(
      "Write a file's bytes into a partition at --offset (a multiple of 4), byte for byte, and read them back to verify. " +
        'Only what must survive is read first: the parts of the first and last 4 KiB sector outside the range, which are kept. ' +
        'Erased flash (a 64-byte probe says so) is written without an erase; over other data every touched sector is erased and written. ' +
        "The file is not checked to be a PKI bin, and any partition is accepted: use 'update' for credentials.",
    )
    .argument('<partition>', 'partition label')
    .argument('<file>', 'the bytes to write')
    .option('--offset <n>', 'where in the partition, a multiple of 4 (default 0)')
    .option('-f, --force', 'erase every sector the range touches, even if the probe finds erased flash');
  addDeviceOptions(command);
  addExamples(command, ['at-pki write --port /dev/ttyUSB0 client_cert client_cert.bin', 'at-pki write --port tcp://10.0.0.5:3333 fatfs blob.bin --offset 0x1000']);
  command.action(async (label: string, file: string, options: WriteOptions) => {
    const offset = options.offset === undefined ? 0 : parseWholeNumber(options.offset, '--offset');
    const [{ runOperation }, { readRegularFile }, { writeRange }] = await Promise.all([
      import('../operation-runner.js'),
      import('../../flash/regular-file.js'),
      import('../../flash/write-range.js'),
    ]);
    const bytes = await readRegularFile(file, { maxBytes: MAX_WRITE_FILE_BYTES, tooLarge: 'larger than any partition' });
    if (bytes.length === 0) throw new InputError(`${file} is empty: nothing to write`, { details: { path: file } });
    const report = await runOperation(io, { name: 'write', partition: label }, options, async ({ module, emit, signal }) => {
      const partition = await module.partition(label, { signal });
      return writeRange(module.session, partition, offset, bytes, { signal, onEvent: emit, force: options.force });
    });
    printResult(io, options.json, describeWrite(report, `${bytes.length} bytes of ${file}`), { ...report, file, fileBytes: bytes.length });
  });
}
