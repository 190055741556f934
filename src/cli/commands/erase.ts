/** `at-pki erase --port URL <partition>`: erase a whole partition. */
import type { Command } from 'commander';
import { AtPkiError } from '../../errors.js';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';

export function registerErase(program: Command, io: CliIo): void {
  const command = program
    .command('erase')
    .summary('erase a whole partition (to 0xFF)')
    .description('Erase a whole partition: every byte becomes 0xFF. The module then holds no credentials of that kind.')
    .argument('<partition>', 'partition label, e.g. client_cert');
  addDeviceOptions(command);
  addExamples(command, ['at-pki erase --port /dev/ttyUSB0 client_ca']);
  command.action(async (label: string, options: DeviceOptions) => {
    const [{ runOperation }, { eraseRange }, { changesSent }] = await Promise.all([
      import('../operation-runner.js'),
      import('../../flash/sysflash.js'),
      import('../../flash/changes-sent.js'),
    ]);
    const result = await runOperation(io, { name: 'erase', partition: label }, options, async ({ module, emit, signal }) => {
      const partition = await module.partition(label, { signal });
      const sectors = partition.size / 4096;
      emit({ type: 'progress', phase: 'erase', done: 0, total: sectors, unit: 'sectors' });
      const sentBefore = changesSent(module.session);
      try {
        await eraseRange(module.session, partition, 0, partition.size, { signal });
      } catch (error) {
        // Sent but not answered OK: the module may have erased some sectors, all, or none.
        if (error instanceof AtPkiError && changesSent(module.session) !== sentBefore) {
          error.details.deviceState = `modified: ${label} may be partly erased (the erase did not answer OK); run erase again`;
        }
        throw error;
      }
      emit({ type: 'progress', phase: 'erase', done: sectors, total: sectors, unit: 'sectors' });
      return { partition: label, erasedBytes: partition.size };
    });
    printResult(io, options.json, `erased ${label} (${result.erasedBytes} bytes)`, result);
  });
}
