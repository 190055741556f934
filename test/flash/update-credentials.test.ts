/**
 * updateCredentials (the CLI's and the daemon's update): a bin goes only into a credential partition
 * unless `anyPartition`; an mfg_nvs namespace update (key by key) is not affected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import { InputError } from '../../src/errors.js';
import { EspAtModule } from '../../src/flash/module.js';
import { NOT_A_CREDENTIAL_PARTITION, updateCredentials } from '../../src/flash/update-credentials.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import type { PkiItem } from '../../src/pki/types.js';
import { fixture } from '../pki/paths.js';
import { registerMockScheme } from '../support/device.js';

const items: PkiItem[] = [{ type: 'cert', content: fixture('device.crt') }];
const credentials = { bin: encodePkiBin(items), items, format: 'atpki' as const };

let emulator: EspAtEmulator;
let module: EspAtModule | undefined;

afterEach(async () => {
  await module?.close();
  module = undefined;
  removeEmulator('update-credentials');
});

async function connect(options: EspAtEmulatorOptions): Promise<EspAtModule> {
  registerMockScheme();
  emulator = createEmulator('update-credentials', { chip: 'esp32', fill: 'garbage', seed: 2, ...options });
  module = await EspAtModule.connect(`mock://${emulator.chip}?id=update-credentials`);
  return module;
}

function expectUntouched(before: Buffer): void {
  expect(emulator.flashImage().equals(before), 'flash changed').toBe(true);
  expect(emulator.stats.flashBytesErased + emulator.stats.flashBytesWritten).toBe(0);
}

describe('updateCredentials refuses partitions that hold no credentials', () => {
  it('fatfs, factory_param and ble_data on a legacy module: InputError, the module untouched; anyPartition writes', async () => {
    const m = await connect({});
    await m.partitions();
    emulator.resetStats();
    const before = emulator.flashImage();
    for (const label of ['fatfs', 'factory_param', 'ble_data']) {
      const error = await updateCredentials(m, label, credentials).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).details).toMatchObject({ partition: label, reason: NOT_A_CREDENTIAL_PARTITION, deviceState: 'unchanged' });
    }
    expectUntouched(before);
    const outcome = await updateCredentials(m, 'fatfs', credentials, { anyPartition: true });
    expect(outcome).toMatchObject({ storage: 'partitions', report: { partition: 'fatfs', verified: true } });
    expect(emulator.readPartition('fatfs').subarray(0, credentials.bin.length)).toEqual(credentials.bin);
  });

  it('ESP-AT 3.x: a namespace is still written key by key; the mfg_nvs partition itself is refused', async () => {
    const m = await connect({ chip: 'esp32c3', firmware: '3.2.0.0', fill: undefined });
    const outcome = await updateCredentials(m, 'client_cert', credentials);
    expect(outcome).toMatchObject({ storage: 'mfg_nvs', report: { namespace: 'client_cert', verified: true } });
    expect(emulator.readMfg('client_cert', 'client_cert.0')!.bytes).toEqual(fixture('device.crt'));
    emulator.resetStats();
    const before = emulator.flashImage();
    await expect(updateCredentials(m, 'mfg_nvs', credentials)).rejects.toThrow(/mfg_nvs is not a credential partition/);
    expectUntouched(before);
  });
});
