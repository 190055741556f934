/**
 * The device a device-level test talks to: the in-process emulator by default, the real module on
 * AT_PKI_TEST_PORT when it is set (hardware-in-the-loop mode; AT_PKI_TEST_PORT_MFG for a module
 * running ESP-AT 3.1 or later, used by the mfg_nvs tests). The same test files run in both modes;
 * checks that need to look inside the emulator's flash use `emulator` only when there is one and
 * otherwise read the module back through the tool itself.
 */
import { randomUUID } from 'node:crypto';
import { createEmulator, createMockTransport, removeEmulator, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import { registerTransportScheme, transportSchemes } from '../../src/transport/open.js';

export const hardwarePort = process.env.AT_PKI_TEST_PORT;
export const hardwarePortMfg = process.env.AT_PKI_TEST_PORT_MFG;

export function registerMockScheme(): void {
  if (!transportSchemes().includes('mock')) registerTransportScheme('mock', createMockTransport);
}

export interface TestDevice {
  url: string;
  /** The emulator behind `url`; undefined on real hardware. */
  emulator: EspAtEmulator | undefined;
  dispose(): void;
}

/** A fresh emulated module (or the real one), reachable in-process as `url`. */
export function testDevice(options: EspAtEmulatorOptions = {}, hardware: string | undefined = hardwarePort): TestDevice {
  registerMockScheme();
  if (hardware) return { url: hardware, emulator: undefined, dispose: () => {} };
  const id = `test-${randomUUID()}`;
  const emulator = createEmulator(id, { chip: 'esp32c3', ...options });
  return {
    url: `mock://${emulator.chip}?id=${id}`,
    emulator,
    dispose: () => {
      removeEmulator(id);
    },
  };
}
