/**
 * mfg_nvs (ESP-AT ≥ 3.1): an update must not report success while a stale `<ns>.<i>` key of an
 * older, longer set is still there — also when the key listing it relies on was lost or garbled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { VerifyError } from '../../src/errors.js';
import { updateMfgNamespace } from '../../src/flash/mfg-update.js';
import { EspAtModule } from '../../src/flash/module.js';
import { registerMockScheme } from '../support/device.js';

const NS = 'client_cert';
const value = (n: number): Buffer => Buffer.from(`-----BEGIN CERTIFICATE-----\n${String(n).repeat(900)}\n-----END CERTIFICATE-----\n`);
const LIST = `AT+SYSMFG=1,"${NS}"`;

let emulator: EspAtEmulator;
let module: EspAtModule;
let n = 0;

beforeEach(async () => {
  registerMockScheme();
  emulator = createEmulator(`mfg-stale-${++n}`, { chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
  module = await EspAtModule.connect(`mock://esp32c3?id=mfg-stale-${n}`, { timeoutMs: 500 });
  await updateMfgNamespace(module, NS, [value(1), value(2), value(3)]);
});
afterEach(async () => {
  await module.close().catch(() => {});
  removeEmulator(`mfg-stale-${n}`);
});

function keys(): string[] {
  return emulator.mfgKeys(NS).map((k) => k.key).sort();
}

describe('stale keys', () => {
  it('the first key listing answered ERROR: the stale keys are still found and erased', async () => {
    let lists = 0;
    emulator.setFaultInjector({ onCommand: (line) => (line === LIST && ++lists === 1 ? { kind: 'error' } : undefined) });
    const report = await updateMfgNamespace(module, NS, [value(4)]);
    expect(lists).toBeGreaterThan(1);
    expect(report.removed.sort()).toEqual(['client_cert.1', 'client_cert.2']);
    expect(keys()).toEqual(['client_cert.0']);
    expect(emulator.readMfg(NS, 'client_cert.0')!.bytes).toEqual(value(4));
  });

  it('the first key listing came back garbled: the stale key it hid is still found and erased', async () => {
    let lists = 0;
    emulator.setFaultInjector({
      onCommand: (line) => {
        if (line === LIST) lists++;
        return undefined;
      },
      // In the first listing's answer, "client_cert.2" becomes "client_cerT.2".
      filterOutput: (chunk) => {
        if (lists !== 1) return chunk;
        const text = chunk.toString('latin1');
        return Buffer.from(text.replace('"client_cert.2"', '"client_cerT.2"'), 'latin1');
      },
    });
    const report = await updateMfgNamespace(module, NS, [value(4), value(5)]);
    expect(report.removed).toEqual(['client_cert.2']);
    expect(keys()).toEqual(['client_cert.0', 'client_cert.1']);
  });

  it('no key listing ever succeeds: the update cannot show that no stale key is left, so it fails', async () => {
    emulator.setFaultInjector({ onCommand: (line) => (line === LIST ? { kind: 'error' } : undefined) });
    await expect(updateMfgNamespace(module, NS, [value(4)])).rejects.toThrow(/ERROR to AT\+SYSMFG/);
    expect(keys()).toContain('client_cert.1');
  });

  it('a stale key that cannot be erased fails the update', async () => {
    emulator.setFaultInjector({ onCommand: (line) => (line.startsWith('AT+SYSMFG=0,') ? { kind: 'error' } : undefined) });
    const error = await updateMfgNamespace(module, NS, [value(4)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as VerifyError).details.deviceState).toMatch(/^modified:/);
    expect(keys()).toContain('client_cert.1');
  });
});
