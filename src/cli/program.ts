/**
 * The `at-pki` commander program. Each command lives in `commands/<name>.ts` and exports
 * `register<Name>(program, io)`; add it to COMMANDS below. Command conventions:
 *
 * - validate arguments in the action and throw UsageError / InputError (exit 2) before doing anything;
 * - add `--json` with addJsonOption() and finish with printResult() (see output.ts);
 * - warnings go through printWarnings(); failures are thrown, never printed: run.ts reports them;
 * - give every command examples and the exit codes with addExamples().
 */
import { Command } from 'commander';
import { registerBatch } from './commands/batch.js';
import { registerDaemon } from './commands/daemon.js';
import { registerErase } from './commands/erase.js';
import { registerExtract } from './commands/extract.js';
import { registerGenerate } from './commands/generate.js';
import { registerInspect } from './commands/inspect.js';
import { registerLedger } from './commands/ledger.js';
import { registerMfg } from './commands/mfg.js';
import { registerPartitions } from './commands/partitions.js';
import { registerProvision } from './commands/provision.js';
import { registerRead } from './commands/read.js';
import { registerStatus } from './commands/status.js';
import { registerUpdate } from './commands/update.js';
import { registerWrite } from './commands/write.js';
import type { CliIo } from './io.js';
import { EXIT_CODES_HELP, PROGRAM_NAME } from './output.js';
import { packageVersion } from './version.js';

type RegisterCommand = (program: Command, io: CliIo) => void;

/** In the order `--help` lists them. */
const COMMANDS: readonly RegisterCommand[] = [
  registerUpdate,
  registerPartitions,
  registerRead,
  registerWrite,
  registerErase,
  registerMfg,
  registerGenerate,
  registerInspect,
  registerExtract,
  registerDaemon,
  registerStatus,
  registerProvision,
  registerBatch,
  registerLedger,
];

export function createProgram(io: CliIo): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Put device credentials (CA certificates, client certificates, private keys) into Espressif ESP-AT modules.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // Report usage errors in run.ts (one line, exit 2) instead of commander printing and exiting.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `
Examples:
  $ at-pki update --port /dev/ttyUSB0 client_cert
  $ at-pki update --port /dev/ttyUSB0 client_key --bin client_key.bin
  $ at-pki partitions --port mock://esp32c3
  $ at-pki generate -o client_cert.bin cert client.crt
  $ at-pki generate -o client_key.bin key client.key
  $ at-pki generate --from raw_data client_ca --partition-size client_ca
  $ at-pki inspect client_cert.bin
  $ at-pki extract client_cert.bin -o out/
${EXIT_CODES_HELP}`,
    );
  for (const register of COMMANDS) register(program, io);
  return program;
}
