/**
 * provisionUnit's rules on the ledger, in-process (mock://): a failure before any byte releases the
 * reservation (the set goes to the next unit); a unit pulled out mid-write leaves its set bound to it
 * (suspect), the next unit gets another set, and the same unit back gets the same set and is verified;
 * a job for one unit is refused on another.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EspAtModule } from '../../../src/flash/module.js';
import type { Ledger } from '../../../src/station/ledger/ledger.js';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { importBatchDir } from '../../../src/station/provision/batch-import.js';
import { provisionUnit } from '../../../src/station/provision/provision-unit.js';
import { testDevice, type TestDevice } from '../../support/device.js';
import { tempDir } from '../support.js';
import { testFactory, writeBatch, type TestBatch, type TestFactory } from './fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

let factory: TestFactory;
beforeAll(async () => {
  factory = await testFactory();
});

const context = { station: 's1', port: 'bay', actor: 'test' };

async function setup(count: number): Promise<{ ledger: Ledger; batch: TestBatch; dir: string }> {
  const dir = tempDir('punit');
  cleanups.push(() => dir.remove());
  const batch = await writeBatch(factory, join(dir.path, 'lot'), count);
  const ledger = await openLedger(join(dir.path, 'l.sqlite'));
  cleanups.push(() => ledger.close());
  return { ledger, batch, dir: dir.path };
}

async function connect(options: Parameters<typeof testDevice>[0]): Promise<{ module: EspAtModule; device: TestDevice }> {
  const device = testDevice(options, undefined);
  cleanups.push(() => device.dispose());
  const module = await EspAtModule.connect(device.url);
  cleanups.push(() => module.close().catch(() => {}));
  return { module, device };
}

describe('provisionUnit', () => {
  it('releases the reservation when the set cannot go to this module before any byte is sent', async () => {
    const { ledger, batch } = await setup(2);
    // A set with a partition the legacy module does not have (wss_ca).
    mkdirSync(join(batch.dir, 'set-000', 'wss_ca'));
    writeFileSync(join(batch.dir, 'set-000', 'wss_ca', 'ca.pem'), batch.sets[0]!.caChainPem);
    await importBatchDir(ledger, 'lot', batch.dir, context);
    const { module, device } = await connect({ chip: 'esp32c3', mac: '24:0a:c4:0d:00:01' });
    await expect(provisionUnit(module, ledger, { kind: 'batch', batch: 'lot' }, { context })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('wss_ca') });
    expect(device.emulator!.stats.flashBytesWritten + device.emulator!.stats.flashBytesErased).toBe(0);
    expect((await ledger.batch('lot'))!.available).toBe(2);
    expect((await ledger.events()).map((e) => e.kind)).toContain('released');
  });

  it('keeps a set bound to a unit pulled out mid-write; the same unit back gets it and is verified', async () => {
    const { ledger, batch } = await setup(2);
    await importBatchDir(ledger, 'lot', batch.dir, context);
    const first = await connect({ chip: 'esp32c3', mac: '24:0a:c4:0d:00:02' });
    const pull = (): void => {
      first.device.emulator!.off('flashchange', pull);
      first.device.emulator!.unplug();
    };
    first.device.emulator!.on('flashchange', pull);
    const failure = await provisionUnit(first.module, ledger, { kind: 'batch', batch: 'lot' }, { context }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'DISCONNECTED', details: { assignment: { state: 'suspect', set: 'set-000' } } });
    expect((await ledger.currentAssignment('lot', '24:0a:c4:0d:00:02'))!.state).toBe('suspect');

    const other = await connect({ chip: 'esp32c3', mac: '24:0a:c4:0d:00:03' });
    expect(await provisionUnit(other.module, ledger, { kind: 'batch', batch: 'lot' }, { context })).toMatchObject({ set: 'set-001' });

    const back = await EspAtModule.connect(first.device.url);
    cleanups.push(() => back.close());
    const result = await provisionUnit(back, ledger, { kind: 'batch', batch: 'lot' }, { context });
    expect(result).toMatchObject({ device: '24:0a:c4:0d:00:02', set: 'set-000', alreadyVerified: false });
    expect((await ledger.currentAssignment('lot', '24:0a:c4:0d:00:02'))!.state).toBe('verified');
  });

  it('refuses another unit than the one the work is for, writing nothing', async () => {
    const { ledger, batch } = await setup(1);
    await importBatchDir(ledger, 'lot', batch.dir, context);
    const { module, device } = await connect({ chip: 'esp32c3', mac: '24:0a:c4:0d:00:04' });
    await expect(provisionUnit(module, ledger, { kind: 'batch', batch: 'lot' }, { context, expectedMac: '24:0a:c4:0d:00:99' })).rejects.toMatchObject({ code: 'WRONG_UNIT' });
    expect(device.emulator!.stats.flashBytesWritten).toBe(0);
    expect((await ledger.batch('lot'))!.available).toBe(1);
  });
});
