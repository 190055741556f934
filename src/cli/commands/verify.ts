/**
 * `at-pki verify --port URL <partition> [source]`: does the module hold exactly what `update` would
 * write? Changes nothing. Registration only: the work is loaded when the command runs.
 */
import type { Command } from 'commander';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples } from '../output.js';

export interface VerifyOptions extends DeviceOptions {
  bin?: string;
  from?: string;
  validate: boolean;
}

export function registerVerify(program: Command, io: CliIo): void {
  const command = program
    .command('verify')
    .summary('check, changing nothing, that the module holds exactly what update would write')
    .description(
      'Read the whole partition and compare it with the bin followed by 0xFF, or on ESP-AT 3.1+ (mfg_nvs) read every key of the ' +
        'namespace and check nothing stale follows them. Nothing is erased or written. Exit 0 when the module holds exactly what ' +
        "'at-pki update' with the same sources would write, 1 with where it differs, 2 on bad input.",
    )
    .usage('[options] <partition> [--bin FILE | --from DIR | <type> <file> ...]')
    .argument('<partition>', 'partition label (or mfg_nvs namespace): client_cert, client_key, client_ca, mqtt_cert...')
    .argument('[items...]', '<type> <file> pairs (type: ca, cert or key)')
    .option('--bin <file>', 'compare with this ready-made PKI bin')
    .option('--from <dir>', 'take the files of <dir>/<partition>/ (default when no source is given: ./raw_data)')
    .option('--no-validate', 'skip certificate/key validation');
  addDeviceOptions(command);
  addExamples(command, [
    'at-pki verify --port /dev/ttyUSB0 client_cert --bin client_cert.bin',
    'at-pki verify --port /dev/ttyUSB0 client_key key device.key --json',
    'at-pki verify --port /dev/ttyUSB0 client_ca   # sources as for update: ./raw_data/client_ca/',
  ]);
  command.action(async (label: string, items: string[], options: VerifyOptions) => {
    const { runVerify } = await import('../verify-run.js');
    await runVerify(io, label, items, options);
  });
}
