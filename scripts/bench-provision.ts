/**
 * Station-mode throughput: a Station in this process with N emulated bays at 115200 (line and flash
 * timing on), a batch of ready-made sets (client_ca, client_cert, client_key: 3 partitions per unit)
 * in an SQLite ledger; each bay provisions the unit in it, and as soon as it passed the next unit is
 * plugged in (a new emulator with a new MAC on the same port). Units per hour per station, next to
 * the time one unit needs alone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator } from '../mock-device/index.js';
import { parseStationConfig } from '../src/station/config.js';
import { issueDeviceCredentials, loadFactoryCa } from '../src/station/issuance/issuer.js';
import { openLedger } from '../src/station/ledger/open-ledger.js';
import { createStationLogger } from '../src/station/logger.js';
import { importBatchDir } from '../src/station/provision/batch-import.js';
import { Station } from '../src/station/station.js';
import { fixed, ms, registerMock, type Table } from './bench-support.js';
import { selfSignedCa } from './bench-ca.js';

interface ProvisionRow {
  bays: number;
  units: number;
  wallMs: number;
  /** Per unit, from identification to passed (median). */
  unitMs: number;
  unitsPerHour: number;
  failed: number;
}

async function writeBatch(dir: string, count: number): Promise<void> {
  const ca = await loadFactoryCa(await selfSignedCa());
  for (let i = 0; i < count; i++) {
    const issued = await issueDeviceCredentials(ca, (0x0200_0000_0000 + i).toString(16).padStart(12, '0'));
    for (const [target, file, content] of [['client_ca', 'ca.pem', issued.caChainPem], ['client_cert', 'cert.pem', issued.certificatePem], ['client_key', 'key.pem', issued.privateKeyPem]] as const) {
      mkdirSync(join(dir, `set-${i}`, target), { recursive: true });
      writeFileSync(join(dir, `set-${i}`, target, file), content);
    }
  }
}

async function run(bays: number, unitsPerBay: number): Promise<ProvisionRow> {
  registerMock();
  const dir = mkdtempSync(join(tmpdir(), 'atpki-bprov-'));
  const total = bays * unitsPerBay;
  try {
    await writeBatch(join(dir, 'lot'), total);
    const ledger = await openLedger(join(dir, 'ledger.sqlite'));
    await importBatchDir(ledger, 'lot', join(dir, 'lot'), { station: 'bench' });
    await ledger.close();
    let serial = 0;
    const plug = (id: string): void => {
      serial++;
      createEmulator(id, { chip: 'esp32', lineTiming: true, flashTiming: true, bootDelayMs: 1, mac: `02:00:00:00:${(serial >> 8).toString(16).padStart(2, '0')}:${(serial & 0xff).toString(16).padStart(2, '0')}` });
    };
    const ids = Array.from({ length: bays }, (_, i) => `bprov-${process.pid}-${i}`);
    for (const id of ids) plug(id);
    const config = parseStationConfig(
      {
        ports: ids.map((id, i) => ({ name: `bay${i + 1}`, url: `mock://esp32?id=${id}` })),
        api: { socket: join(dir, 'api.sock') },
        journal: 'journal.jsonl',
        logLevel: 'silent',
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
        station: { ledger: 'ledger.sqlite', batch: 'lot', name: 'bench', pollMs: 50 },
      },
      { baseDir: dir, source: 'bench-provision.json' },
    );
    const started = performance.now();
    const station = await Station.start(config, { logger: createStationLogger({ level: 'silent', destination: { write: () => {} } }), version: 'bench' });
    const unitTimes: number[] = [];
    let done = 0;
    let failed = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const plugged = new Map(ids.map((id, i) => [`bay${i + 1}`, { id, count: 1, since: performance.now(), settled: false }]));
        const timeout = setTimeout(() => reject(new Error('bench-provision: gave up after 20 min')), 20 * 60_000);
        station.board.on('change', (snapshot) => {
          for (const bay of snapshot.bays) {
            const slot = plugged.get(bay.bay)!;
            if (bay.state === 'identifying' && slot.settled) {
              slot.settled = false;
              slot.since = performance.now();
            }
            if ((bay.state === 'passed' || bay.state === 'failed') && !slot.settled) {
              slot.settled = true;
              unitTimes.push(performance.now() - slot.since);
              done++;
              if (bay.state === 'failed') failed++;
              if (slot.count < unitsPerBay) {
                slot.count++;
                setImmediate(() => plug(slot.id));
              }
              if (done === total) {
                clearTimeout(timeout);
                resolve();
              }
            }
          }
        });
        // Units identified before the listener: their first 'identifying' was missed, start counts from now.
        for (const slot of plugged.values()) slot.since = performance.now();
      });
    } finally {
      await station.stop();
    }
    const wallMs = performance.now() - started;
    const sorted = [...unitTimes].sort((a, b) => a - b);
    return { bays, units: total, wallMs, unitMs: sorted[Math.floor(sorted.length / 2)]!, unitsPerHour: (total / wallMs) * 3_600_000, failed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchProvision(options: { quick: boolean }): Promise<{ table: Table; rows: ProvisionRow[] }> {
  const rows = [await run(1, options.quick ? 1 : 2), await run(16, options.quick ? 1 : 2)];
  const table: Table = {
    title: 'Station mode: bays at 115200 provisioning 3 partitions per unit (client_ca, client_cert, client_key) from an SQLite ledger',
    header: ['bays', 'units', 'wall time', 'time per unit (median)', 'units per hour (station)', 'failed'],
    rows: rows.map((r) => [r.bays, r.units, ms(r.wallMs), ms(r.unitMs), fixed(r.unitsPerHour, 0), r.failed]),
    notes: [
      'A Station (station mode) in this process on blank emulated esp32 modules (line + flash timing). Each unit: identify (eFuse MAC),',
      'claim (SQLite, synchronous=FULL), compare/erase/write/read back 3 partitions, record; then the next unit is plugged into the bay.',
      'Wall time includes the daemon start and the reconnect after each unit change. One bay alone = the time one unit needs.',
    ],
  };
  return { table, rows };
}
