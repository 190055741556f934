/**
 * Finding 3 of issue 12: the line was cut during a write's data while the module stayed powered, so
 * it sits in data mode (it has no timeout) and takes every `AT` as data. The next connect must free
 * it with 0xFF, resynchronise, and say so.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EspAtModule } from '../../src/flash/module.js';
import { updatePartition } from '../../src/flash/update.js';
import { testDevice, type TestDevice } from '../support/device.js';

let device: TestDevice;

beforeEach(() => {
  device = testDevice({ fill: 'erased' });
});

afterEach(() => device.dispose());

async function leaveInDataMode(announced: number, sent: number): Promise<void> {
  const emulator = device.emulator!;
  while (emulator.state !== 'command') await new Promise((resolve) => setTimeout(resolve, 5));
  emulator.receive(Buffer.from(`AT+SYSFLASH=1,"client_cert",0,${announced}\r\n`, 'latin1'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  emulator.receive(Buffer.alloc(sent, 0x41));
  await emulator.whenIdle();
  expect(emulator.state).toBe('raw');
}

it('a module left waiting for write data is flushed with 0xFF at connect, and works again', async () => {
  if (!device.emulator) return;
  await leaveInDataMode(4096, 1000);
  // boot=0: the adapter does not reset the module at open (no auto-reset wiring), as on the line in the issue.
  const module = await EspAtModule.connect(`${device.url}&boot=0`, { timeoutMs: 1000 });
  try {
    expect(module.session.flushedBytes).toBeGreaterThanOrEqual(3096);
    expect(module.session.flushedBytes).toBeLessThanOrEqual(8192);
    expect(module.untouchedState()).toMatch(/^modified: it was stuck in data mode and was freed with \d+ bytes of 0xFF/);
    const bin = Buffer.alloc(1000, 0x5a);
    await updatePartition(module, 'client_cert', bin);
    const content = device.emulator.readPartition('client_cert');
    expect(content.subarray(0, bin.length)).toEqual(bin);
    expect(content.subarray(bin.length).every((b) => b === 0xff)).toBe(true);
  } finally {
    await module.close();
  }
});

it('a module in command mode is not flushed', async () => {
  const module = await EspAtModule.connect(device.url, { timeoutMs: 1000 });
  try {
    expect(module.session.flushedBytes).toBe(0);
    expect(module.untouchedState()).toBe('unchanged: nothing was erased or written');
  } finally {
    await module.close();
  }
});
