/** `at-pki ledger export` and `ledger show` at work. */
import { InputError, UsageError } from '../errors.js';
import { normalizeMac } from '../flash/identity.js';
import type { ExportRecord } from '../station/ledger/ledger.js';
import { openLedger } from '../station/ledger/open-ledger.js';
import type { LedgerExportOptions, LedgerShowOptions } from './commands/ledger.js';
import type { CliIo } from './io.js';
import { ledgerOpenOptions } from './ledger-options.js';
import { printResult } from './output.js';

export const EXPORT_FIELDS: readonly (keyof ExportRecord)[] = ['device', 'set', 'batch', 'certSerial', 'certSha256', 'subject', 'station', 'port', 'time', 'outcome'];

export async function runLedgerExport(io: CliIo, options: LedgerExportOptions): Promise<void> {
  const ledger = await openLedger(options.ledger, { ...ledgerOpenOptions(options), mustExist: true });
  try {
    const records = await ledger.exportRecords();
    if (options.format === 'jsonl') {
      for (const record of records) io.stdout(`${JSON.stringify(record)}\n`);
      return;
    }
    io.stdout(`${EXPORT_FIELDS.join(',')}\n`);
    for (const record of records) io.stdout(`${EXPORT_FIELDS.map((field) => csvField(record[field])).join(',')}\n`);
  } finally {
    await ledger.close();
  }
}

/** RFC 4180: quoted when it holds a comma, quote or line break (subjects do); quotes doubled. */
export function csvField(value: string | undefined): string {
  if (value === undefined) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export async function runLedgerShow(io: CliIo, macText: string, options: LedgerShowOptions): Promise<void> {
  const mac = normalizeMac(macText);
  if (!mac) throw new UsageError(`'${macText}' is not a MAC address (aa:bb:cc:dd:ee:ff or 12 hex digits)`);
  const ledger = await openLedger(options.ledger, { ...ledgerOpenOptions(options), mustExist: true });
  try {
    const device = await ledger.device(mac);
    if (!device) throw new InputError(`the ledger ${ledger.location} has no device ${mac}`, { details: { device: mac } });
    const assignments = await ledger.assignmentsOf(mac);
    const events = await ledger.events({ device: mac });
    const result = {
      device,
      assignments: assignments.map((a) => ({
        id: a.id,
        batch: a.batch,
        set: a.set.name,
        state: a.state,
        current: a.current,
        certSerial: a.set.serialHex,
        certSha256: a.set.sha256Hex,
        subject: a.set.subject,
        notAfter: a.set.notAfter.toISOString(),
        station: a.station,
        port: a.port,
        reason: a.reason,
        updatedAt: a.updatedAt.toISOString(),
      })),
      events: events.map((e) => ({ time: e.time.toISOString(), kind: e.kind, station: e.station, port: e.port, actor: e.actor, batch: e.batch, set: e.set, detail: e.detail })),
    };
    const lines = [
      `${device.mac}: ${device.chip}, ESP-AT ${device.firmware}, ${device.storageMode ?? 'storage unknown'}, identity from ${device.identitySource === 'efuse' ? 'eFuse' : 'the settable station MAC'}`,
      ...(device.warnings ?? []).map((w) => `  warning: ${w}`),
      ...result.assignments.map(
        (a) => `  ${a.state}${a.current ? '' : ' (retired)'}: batch ${a.batch} set ${a.set} serial ${a.certSerial} (${a.subject}) at ${a.station}${a.port ? ` ${a.port}` : ''}, ${a.updatedAt}${a.reason ? ` — ${a.reason}` : ''}`,
      ),
      ...result.events.map((e) => `  ${e.time} ${e.kind} by ${e.actor} at ${e.station}${e.port ? ` ${e.port}` : ''}${e.set ? ` set ${e.set}` : ''}`),
    ];
    printResult(io, options.json, lines.join('\n'), result);
  } finally {
    await ledger.close();
  }
}
