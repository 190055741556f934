/**
 * A station process for the multi-station tests: one ledger connection, the units given on the
 * command line provisioned one after the other through provisionUnit (what `at-pki provision` and
 * the daemon's station mode run), one JSON line per unit. Modules may be `mock://` emulators (with
 * `state=` files, so a unit's flash outlives the process).
 *
 *   node dist/scripts/ledger-station.js --ledger SPEC --batch NAME --station NAME --port URL [--port URL …]
 *
 * The PostgreSQL password comes from AT_PKI_LEDGER_PASSWORD. Exit 0 when every unit is verified.
 */
import { parseArgs } from 'node:util';
import { createMockTransport } from '../mock-device/index.js';
import { EspAtModule } from '../src/flash/module.js';
import { openLedger } from '../src/station/ledger/open-ledger.js';
import { provisionUnit } from '../src/station/provision/provision-unit.js';
import { registerTransportScheme, transportSchemes } from '../src/transport/open.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ledger: { type: 'string' },
      batch: { type: 'string' },
      station: { type: 'string', default: 'station' },
      port: { type: 'string', multiple: true, default: [] },
    },
  });
  if (!transportSchemes().includes('mock')) registerTransportScheme('mock', createMockTransport);
  const ledger = await openLedger(values.ledger!);
  try {
    for (const port of values.port!) {
      const module = await EspAtModule.connect(port, { timeoutMs: 10_000 });
      try {
        const result = await provisionUnit(module, ledger, { kind: 'batch', batch: values.batch! }, { context: { station: values.station!, port } });
        process.stdout.write(`${JSON.stringify({ port, device: result.device, set: result.set, alreadyVerified: result.alreadyVerified })}\n`);
      } finally {
        await module.close();
      }
    }
  } finally {
    await ledger.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ledger-station: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
