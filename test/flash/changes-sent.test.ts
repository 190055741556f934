/**
 * A failure that does not say what it left gets the state that is certain: unchanged only when no
 * erase or write command went out since the operation began (Ctrl-C during a comparison read), and
 * "state unknown" once one did.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { AbortedError, type AtPkiError } from '../../src/errors.js';
import { changesSent, markStateIfUnnamed, sessionBaseline } from '../../src/flash/changes-sent.js';
import { EspAtModule } from '../../src/flash/module.js';
import { eraseRange, writeChunk } from '../../src/flash/sysflash.js';
import { updatePartition } from '../../src/flash/update.js';
import { registerMockScheme } from '../support/device.js';

let emulator: EspAtEmulator;
let module: EspAtModule | undefined;

afterEach(async () => {
  await module?.close();
  module = undefined;
  removeEmulator('changes-sent');
});

async function connect(): Promise<EspAtModule> {
  registerMockScheme();
  emulator = createEmulator('changes-sent', { chip: 'esp32' });
  module = await EspAtModule.connect('mock://esp32?id=changes-sent');
  await module.partitions();
  return module;
}

function binOf(length: number, seed: number): Buffer {
  const bin = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bin[i] = (i * 13 + seed) & 0xff;
  return bin;
}

describe('markStateIfUnnamed', () => {
  it('Ctrl-C during the comparison read of an update: unchanged', async () => {
    const m = await connect();
    const held = binOf(3000, 1);
    emulator.writeRaw('client_cert', 0, held);
    const other = Buffer.from(held);
    other[2900] ^= 0x01; // same start: the comparison reads on
    const before = sessionBaseline(m.session);
    const controller = new AbortController();
    const onEvent = (): void => controller.abort(new Error('interrupted (Ctrl-C)'));
    const error = (await updatePartition(m, 'client_cert', other, { signal: controller.signal, onEvent }).catch((e: unknown) => e)) as AtPkiError;
    expect(error).toBeInstanceOf(AbortedError);
    expect(emulator.stats.flashBytesErased + emulator.stats.flashBytesWritten).toBe(0);
    markStateIfUnnamed(error, m.session, before);
    expect(error.details.deviceState).toMatch(/^unchanged: nothing was erased or written/);
  });

  it('says the state is unknown once an erase or write went out, and never overrides a state already given', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    const before = sessionBaseline(m.session);
    await eraseRange(m.session, partition, 0, 4096);
    await writeChunk(m.session, partition, 0, binOf(16, 2));
    expect(changesSent(m.session)).toBe(before.changes + 2);
    const failure = new AbortedError('interrupted');
    markStateIfUnnamed(failure, m.session, before);
    expect(failure.details.deviceState).toMatch(/^state unknown: erase or write commands were sent/);
    const stated = new AbortedError('interrupted', { details: { deviceState: 'modified: something' } });
    markStateIfUnnamed(stated, m.session, sessionBaseline(m.session));
    expect(stated.details.deviceState).toBe('modified: something');
  });

  it('does not count a command cancelled before it was sent', async () => {
    const m = await connect();
    const partition = await m.partition('fatfs');
    const before = changesSent(m.session);
    const controller = new AbortController();
    controller.abort(new Error('interrupted'));
    await expect(writeChunk(m.session, partition, 0, binOf(16, 3), { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(changesSent(m.session)).toBe(before);
  });
});
