/** `at-pki provision` at work: the source checked (and the CA loaded) before the port is opened, then provisionUnit. */
import { UsageError } from '../errors.js';
import { readRegularFile } from '../flash/regular-file.js';
import { defaultStationName } from '../station/ledger/ledger-context.js';
import { openLedger } from '../station/ledger/open-ledger.js';
import { checkBatchName } from '../station/provision/batch-import.js';
import { issuanceSource } from '../station/provision/issued-source.js';
import { provisionUnit, type CredentialSource, type ProvisionResult } from '../station/provision/provision-unit.js';
import type { ProvisionOptions } from './commands/provision.js';
import type { CliIo } from './io.js';
import { ledgerOpenOptions } from './ledger-options.js';
import { runOperation } from './operation-runner.js';
import { printResult, printWarnings } from './output.js';

const PEM_LIMIT = { maxBytes: 1024 * 1024, tooLarge: 'a CA file is at most 1 MiB' };

export async function runProvision(io: CliIo, options: ProvisionOptions): Promise<void> {
  const source = await credentialSource(io, options);
  const ledger = await openLedger(options.ledger, ledgerOpenOptions(options));
  try {
    if (source.kind === 'batch' && !(await ledger.batch(source.batch))) {
      const known = (await ledger.batches()).map((b) => b.name);
      throw new UsageError(`the ledger has no batch ${JSON.stringify(source.batch)} (it has: ${known.join(', ') || 'none'}); import it with 'at-pki batch import'`);
    }
    const station = options.station ?? defaultStationName();
    const result = await runOperation(io, { name: 'provision' }, options, ({ module, emit, signal }) =>
      provisionUnit(module, ledger, source, { context: { station, port: options.port }, signal, onEvent: emit }),
    );
    printWarnings(io, result.warnings);
    printResult(io, options.json, describe(result), result);
  } finally {
    await ledger.close();
  }
}

function describe(result: ProvisionResult): string {
  const what = result.set !== undefined ? `set ${result.set} of batch ${result.batch}` : `certificate ${result.certSerial} (${result.subject}) of batch ${result.batch}`;
  if (result.alreadyVerified && result.targets.length === 0) return `unit ${result.device} was already provisioned and verified with ${what}; nothing written`;
  const written = result.unchanged ? 'it already held it; nothing written' : `${result.bytesWritten} bytes written to ${result.targets.filter((t) => !t.unchanged).map((t) => t.target).join(', ')}`;
  return `unit ${result.device}: ${what} verified on the module (${result.storage}; ${written})${result.alreadyVerified ? '; it had been verified before' : ''}`;
}

async function credentialSource(io: CliIo, options: ProvisionOptions): Promise<CredentialSource> {
  const issueOnly = [options.caCert && '--ca-cert', options.caKey && '--ca-key', options.caKeyPassphraseEnv && '--ca-key-passphrase-env', options.caKeyPassphraseFile && '--ca-key-passphrase-file', options.days && '--days', options.subject && '--subject'].filter(Boolean);
  if (!options.issue) {
    if (issueOnly.length > 0) throw new UsageError(`${issueOnly[0]} goes with --issue`);
    if (!options.batch) throw new UsageError('give --batch NAME (an imported batch) or --issue with --ca-cert and --ca-key');
    checkBatchName(options.batch);
    return { kind: 'batch', batch: options.batch };
  }
  if (!options.caCert || !options.caKey) throw new UsageError('--issue needs --ca-cert FILE and --ca-key FILE');
  if (options.caKeyPassphraseEnv && options.caKeyPassphraseFile) throw new UsageError('give the CA key passphrase with --ca-key-passphrase-env or --ca-key-passphrase-file, not both');
  let passphrase: string | undefined;
  if (options.caKeyPassphraseEnv) {
    passphrase = io.env[options.caKeyPassphraseEnv];
    if (passphrase === undefined) throw new UsageError(`the environment variable ${options.caKeyPassphraseEnv} (--ca-key-passphrase-env) is not set`);
  } else if (options.caKeyPassphraseFile) {
    passphrase = (await readRegularFile(options.caKeyPassphraseFile, { maxBytes: 4096, tooLarge: 'a passphrase file is at most 4 KiB' })).toString('utf8').split(/\r?\n/)[0];
  }
  let days: number | undefined;
  if (options.days !== undefined) {
    days = Number(options.days);
    if (!/^\d+$/.test(options.days) || days < 1) throw new UsageError(`--days must be a whole number of days ≥ 1, got ${options.days}`);
  }
  const [certPem, keyPem] = await Promise.all([readRegularFile(options.caCert, PEM_LIMIT), readRegularFile(options.caKey, PEM_LIMIT)]);
  return issuanceSource({
    ca: { certPem: certPem.toString('utf8'), keyPem: keyPem.toString('utf8'), ...(passphrase !== undefined ? { passphrase } : {}) },
    keyType: options.keyType,
    days,
    subjectTemplate: options.subject,
    batch: options.batch,
  });
}
