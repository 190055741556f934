/** `at-pki read --port URL <partition> -o FILE`: copy (part of) a partition to a file. */
import type { Command } from 'commander';
import { addDeviceOptions, parseWholeNumber, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';

interface ReadOptions extends DeviceOptions {
  output: string;
  offset?: string;
  length?: string;
}

export function registerRead(program: Command, io: CliIo): void {
  const command = program
    .command('read')
    .summary('read a partition (or part of it) into a file')
    .description('Read a partition, or --length bytes of it from --offset, into a file. Reads go in chunks of at most 4 KiB (larger reads corrupt memory on many firmware versions).')
    .argument('<partition>', 'partition label, e.g. client_cert')
    .requiredOption('-o, --output <file>', 'file to write (created readable by the owner only: it may hold keys)')
    .option('--offset <n>', 'start offset in the partition (default 0)')
    .option('--length <n>', 'bytes to read (default: to the end of the partition)');
  addDeviceOptions(command);
  addExamples(command, [
    'at-pki read --port /dev/ttyUSB0 client_cert -o client_cert.readback.bin',
    'at-pki read --port /dev/ttyUSB0 client_key --offset 0 --length 8 -o header.bin',
  ]);
  command.action(async (label: string, options: ReadOptions) => {
    const offset = options.offset === undefined ? 0 : parseWholeNumber(options.offset, '--offset');
    const length = options.length === undefined ? undefined : parseWholeNumber(options.length, '--length');
    const [{ runOperation }, { readRange }, { checkRange }, { writeFileAtomic }] = await Promise.all([
      import('../operation-runner.js'),
      import('../../flash/read-range.js'),
      import('../../flash/range-checks.js'),
      import('../write-file-atomic.js'),
    ]);
    const result = await runOperation(io, { name: 'read', partition: label }, options, async ({ module, emit, signal }) => {
      const partition = await module.partition(label, { signal });
      const size = length ?? Math.max(0, partition.size - offset);
      checkRange(partition, offset, size, 'read');
      const bytes = await readRange(module.session, partition, offset, size, {
        signal,
        onProgress: (done) => emit({ type: 'progress', phase: 'read', done, total: size, unit: 'bytes' }),
      });
      await writeFileAtomic(options.output, bytes, { mode: 0o600 });
      return { partition: label, offset, length: size, output: options.output };
    });
    printResult(io, options.json, `read ${result.length} bytes of ${label} at offset ${offset} into ${result.output}`, result);
  });
}
