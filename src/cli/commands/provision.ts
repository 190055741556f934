/**
 * `at-pki provision --port URL --ledger FILE (--batch NAME | --issue …)`: identify the unit, give it
 * its own credential set exactly once, write and verify it, record it. Registration only; the work
 * is loaded when it runs.
 */
import { Option, type Command } from 'commander';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addLedgerOptions, LEDGER_HELP, type LedgerOptions } from '../ledger-options.js';
import { addExamples } from '../output.js';

export interface ProvisionOptions extends DeviceOptions, LedgerOptions {
  batch?: string;
  issue?: boolean;
  caCert?: string;
  caKey?: string;
  caKeyPassphraseEnv?: string;
  caKeyPassphraseFile?: string;
  keyType?: 'ec-p256' | 'rsa-2048';
  days?: string;
  subject?: string;
}

export function registerProvision(program: Command, io: CliIo): void {
  const command = program
    .command('provision')
    .summary("give the unit on the port its own credential set, exactly once (factory station)")
    .description(
      'Identify the unit (its factory eFuse MAC, AT+SYSREG; AT+CIPSTAMAC where the firmware has no SYSREG), claim its credential ' +
        'set in the ledger (the same set again for a unit seen before; never one another unit got), write every partition (ESP-AT ' +
        '≤ 3.0) or mfg_nvs namespace (≥ 3.1) of the set with the update flow (compare, erase what changes, write, read back), and ' +
        'record the outcome. With --issue, a fresh key and certificate (CN = the MAC as 12 hex digits) are made for the unit from ' +
        'the factory CA; the key exists only in memory until it is verified on the module.',
    )
    .option('--batch <name>', 'take the next set of this imported batch (with --issue: the batch the issued certificates are recorded under)')
    .option('--issue', 'issue a certificate for the unit from a factory CA (--ca-cert, --ca-key)')
    .option('--ca-cert <file>', 'the factory CA certificate (PEM; its chain may follow)')
    .option('--ca-key <file>', 'the factory CA private key (PEM, may be encrypted)')
    .option('--ca-key-passphrase-env <var>', 'the environment variable holding the CA key passphrase')
    .option('--ca-key-passphrase-file <file>', 'the file holding the CA key passphrase (first line)')
    .addOption(new Option('--key-type <type>', 'key type of issued device keys').choices(['ec-p256', 'rsa-2048']).default('ec-p256'))
    .option('--days <n>', 'validity of issued certificates in days (default 3650, never beyond the CA)')
    .option('--subject <template>', "subject of issued certificates, {mac} = the MAC as 12 hex digits (default 'CN={mac}')");
  addLedgerOptions(command);
  addDeviceOptions(command);
  command.addHelpText(
    'after',
    `${LEDGER_HELP}

States of an assignment: reserved → writing → verified (or failed / suspect). A reservation is
released only while nothing of the set can have reached the module; from 'writing' on the set stays
bound to the unit for good: run provision again for that unit and it gets the same set.
A batch with no set left: exit 1, nothing sent to the module beyond identification.
The CA key passphrase is never a command-line argument: --ca-key-passphrase-env or -file.

--json: the end record's result carries device (aa:bb:cc:dd:ee:ff), set (absent for issued
certificates), batch, certSerial, certSha256, subject, alreadyVerified, unchanged, bytesWritten.`,
  );
  addExamples(command, [
    'at-pki provision --port /dev/ttyUSB0 --ledger station.db --batch lot7',
    'at-pki provision --port /dev/ttyUSB0 --ledger station.db --batch lot7 --station line-2 --json',
    'CA_PASS=… at-pki provision --port /dev/ttyUSB0 --ledger station.db --issue --ca-cert ca.pem --ca-key ca.key --ca-key-passphrase-env CA_PASS',
  ]);
  command.action(async (options: ProvisionOptions) => {
    const { runProvision } = await import('../provision-command.js');
    await runProvision(io, options);
  });
}
