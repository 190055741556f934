/**
 * Credentials in mfg_nvs (ESP-AT ≥ 3.1) against a module: a v3 emulator by default, the real module
 * on AT_PKI_TEST_PORT_MFG (it uses the client_cert namespace).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { keysFor, updateMfgNamespace } from '../../src/flash/mfg-update.js';
import { EspAtModule } from '../../src/flash/module.js';
import { eraseEntry, listKeys, readValue, writeBytes } from '../../src/flash/sysmfg.js';
import { hardwarePortMfg, testDevice, type TestDevice } from '../support/device.js';

const NS = 'client_cert';
const value = (n: number, length = 1200): Buffer => Buffer.from(`-----BEGIN CERTIFICATE-----\n${String(n).repeat(length)}\n-----END CERTIFICATE-----\n`);

let device: TestDevice;
let module: EspAtModule;

beforeEach(async () => {
  device = testDevice({ chip: 'esp32c3', firmware: '3.2.0.0' }, hardwarePortMfg);
  module = await EspAtModule.connect(device.url);
});

afterEach(async () => {
  await module.close();
  device.dispose();
});

async function keysOf(namespace: string): Promise<string[]> {
  return (await listKeys(module.session, namespace)).map((k) => k.key).sort();
}

describe('storage mode', () => {
  it('is mfg_nvs on ESP-AT 3.x with an mfg_nvs partition', async () => {
    expect(await module.storageMode()).toBe('mfg_nvs');
    expect((await module.partitions()).map((p) => p.label)).toContain('mfg_nvs');
  });
});

describe('updateMfgNamespace', () => {
  it('writes each value to <ns>.<i> as binary, reads it back, and writes nothing the second time', async () => {
    const values = [value(1), value(2)];
    const first = await updateMfgNamespace(module, NS, values);
    expect(first.keys.map((k) => k.key)).toEqual(['client_cert.0', 'client_cert.1']);
    expect(first.verified).toBe(true);
    for (const [i, v] of values.entries()) {
      const back = await readValue(module.session, NS, `client_cert.${i}`);
      expect(back.type).toBe(8);
      expect(back.bytes).toEqual(v);
    }
    const second = await updateMfgNamespace(module, NS, values);
    expect(second.unchanged).toBe(true);
    expect(second.bytesWritten).toBe(0);
  });

  it('removes stale higher-numbered keys left by a longer earlier set', async () => {
    await updateMfgNamespace(module, NS, [value(1), value(2), value(3)]);
    const report = await updateMfgNamespace(module, NS, [value(4)]);
    expect(report.removed.sort()).toEqual(['client_cert.1', 'client_cert.2']);
    expect(await keysOf(NS)).toEqual(['client_cert.0']);
    expect((await readValue(module.session, NS, 'client_cert.0')).bytes).toEqual(value(4));
  });

  it('rewrites a value that was changed behind its back', async () => {
    await updateMfgNamespace(module, NS, [value(5)]);
    await writeBytes(module.session, NS, 'client_cert.0', 8, Buffer.from('tampered'));
    const report = await updateMfgNamespace(module, NS, [value(5)]);
    expect(report.keys).toEqual([{ key: 'client_cert.0', length: value(5).length, written: true }]);
  });

  it('uses the namespace name as the key for single-value namespaces', async () => {
    const report = await updateMfgNamespace(module, 'mqtt_cert', [value(6)]);
    expect(report.keys.map((k) => k.key)).toEqual(['mqtt_cert']);
    expect((await readValue(module.session, 'mqtt_cert', 'mqtt_cert')).bytes).toEqual(value(6));
    await eraseEntry(module.session, 'mqtt_cert', 'mqtt_cert');
  });

  it('refuses, before sending anything: over-long values, names and unknown namespaces', async () => {
    await expect(updateMfgNamespace(module, NS, [Buffer.alloc(8192, 0x41)])).rejects.toThrow(/1 to 8191 bytes/);
    await expect(updateMfgNamespace(module, 'a_very_long_namespace', [value(1)])).rejects.toThrow(/at most 15/);
    await expect(updateMfgNamespace(module, 'mqtt_cert', [value(1), value(2)])).rejects.toThrow(/exactly one/);
    await expect(updateMfgNamespace(module, 'fatfs', [value(1)])).rejects.toBeInstanceOf(InputError);
  });
});

describe('keysFor', () => {
  it('numbers multi-key namespaces from 0 and names single-key ones after themselves', () => {
    expect(keysFor('client_key', 3)).toEqual(['client_key.0', 'client_key.1', 'client_key.2']);
    expect(keysFor('wss_ca', 1)).toEqual(['wss_ca.0']);
    expect(keysFor('server_cert', 1)).toEqual(['server_cert']);
    expect(keysFor('wpa2_key', 1)).toEqual(['wpa2_key']);
  });
});
