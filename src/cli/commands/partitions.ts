/** `at-pki partitions --port URL`: the module's user partitions (AT+SYSFLASH?). */
import type { Command } from 'commander';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';
import { formatTable } from '../table.js';

export function registerPartitions(program: Command, io: CliIo): void {
  const command = program
    .command('partitions')
    .summary("list the module's user partitions")
    .description(
      "List the module's user partitions (label, type, subtype, address, size), as AT+SYSFLASH? reports them, its firmware version, and where it keeps credentials (PKI partitions, or mfg_nvs on ESP-AT 3.1+).",
    );
  addDeviceOptions(command);
  addExamples(command, ['at-pki partitions --port /dev/ttyUSB0', 'at-pki partitions --port mock://esp32c3 --json']);
  command.action(async (options: DeviceOptions) => {
    const [{ runOperation }, { formatVersion }] = await Promise.all([import('../operation-runner.js'), import('../../flash/firmware.js')]);
    const result = await runOperation(io, { name: 'partitions' }, options, async ({ module, signal }) => ({
      port: module.url,
      firmware: { atVersion: formatVersion(module.firmware.atVersion), lines: module.firmware.lines },
      storage: await module.storageMode({ signal }),
      partitions: await module.partitions({ signal }),
    }));
    const storage =
      result.storage === 'mfg_nvs'
        ? 'credentials in mfg_nvs (AT+SYSMFG): update takes a namespace, e.g. client_cert'
        : 'credentials in PKI partitions (AT+SYSFLASH)';
    const table = formatTable(
      [{ header: 'label' }, { header: 'type', right: true }, { header: 'subtype', right: true }, { header: 'address', right: true }, { header: 'size', right: true }, { header: '' }],
      result.partitions.map((p) => [p.label, String(p.type), String(p.subtype), hex(p.address), hex(p.size), `${p.size / 1024} KiB`]),
    );
    printResult(io, options.json, `ESP-AT ${result.firmware.atVersion} on ${result.port}; ${storage}\n${table}`, result);
  });
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
