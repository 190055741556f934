/**
 * What a module tells about itself at connect (partition table, storage mode) is kept for the whole
 * connection — for weeks in the daemon. A byte lost or garbled in those answers, or one stray ERROR,
 * must not become a wrong picture of the module.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator, type FaultInjector } from '../../mock-device/index.js';
import { ProtocolError } from '../../src/errors.js';
import { EspAtModule } from '../../src/flash/module.js';
import { registerMockScheme } from '../support/device.js';
import { certAndKeySource, emulatedPort, eventually, removePorts, runJob, startTestStation } from '../station/support.js';

let ids: string[] = [];
afterEach(() => {
  for (const id of ids) removeEmulator(id);
  ids = [];
});

function device(options: Parameters<typeof createEmulator>[1], faults: FaultInjector): { emulator: EspAtEmulator; url: string } {
  registerMockScheme();
  const id = `glitch-${ids.length}-${process.pid}`;
  ids.push(id);
  const emulator = createEmulator(id, options);
  emulator.setFaultInjector(faults);
  return { emulator, url: `mock://${emulator.chip}?id=${id}` };
}

/** Garble the answer to the first `AT+SYSFLASH?` by applying `edit` to the module's output while it runs. */
function garbleFirstTable(edit: (text: string) => string): FaultInjector {
  let tables = 0;
  return {
    onCommand: (line) => {
      if (line === 'AT+SYSFLASH?') tables++;
    },
    filterOutput: (chunk) => (tables === 1 ? Buffer.from(edit(chunk.toString('latin1')), 'latin1') : chunk),
  };
}

describe('the partition table', () => {
  it('a byte lost from a label in the first answer: the table is asked again and is right', async () => {
    const { emulator, url } = device({ chip: 'esp32c3' }, garbleFirstTable((t) => t.replace('"client_cert"', '"lient_cert"')));
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    const labels = (await module.partitions()).map((p) => p.label);
    expect(labels).toEqual(emulator.partitions().map((p) => p.label));
    expect(emulator.stats.commandsByName['+SYSFLASH']).toBeGreaterThanOrEqual(3);
    await module.close();
  });

  it('a garbled size: the two answers disagree, the third settles it', async () => {
    const { emulator, url } = device({ chip: 'esp32' }, garbleFirstTable((t) => t.replace('"client_cert",64,5,0x2a000,0x2000', '"client_cert",64,5,0x2a000,0x6000')));
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    expect((await module.partition('client_cert')).size).toBe(emulator.findPartition('client_cert')!.size);
    await module.close();
  });

  it('a line that is no table row in the first answer: asked again', async () => {
    const { url } = device({ chip: 'esp32' }, garbleFirstTable((t) => t.replace('+SYSFLASH:"server_key"', '+SYSFLASH:"server_key\r\n')));
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    expect((await module.partitions()).some((p) => p.label === 'server_key')).toBe(true);
    await module.close();
  });

  it('a line that never gives the same table twice: a clear failure, not a guess', async () => {
    let n = 0;
    const { url } = device(
      { chip: 'esp32' },
      { filterOutput: (chunk) => Buffer.from(chunk.toString('latin1').replace('"client_ca",64,7,0x2e000,0x2000', () => `"client_ca",64,7,0x2e000,0x${(++n).toString(16)}000`), 'latin1') },
    );
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    const error = await module.partitions().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/answered AT\+SYSFLASH\? differently each time/);
    await module.close();
  });
});

describe('the storage mode', () => {
  it('one stray ERROR to AT+SYSMFG? does not make an ESP-AT 3.x module "legacy"', async () => {
    let probes = 0;
    const { url } = device({ chip: 'esp32c3', firmware: '3.2.0.0' }, { onCommand: (line) => (line === 'AT+SYSMFG?' && ++probes === 1 ? { kind: 'error' } : undefined) });
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    expect(await module.storageMode()).toBe('mfg_nvs');
    expect(probes).toBe(2);
    await module.close();
  });

  it('a module that always refuses AT+SYSMFG? is in partition mode', async () => {
    const { url } = device({ chip: 'esp32c3', firmware: '3.2.0.0' }, { onCommand: (line) => (line === 'AT+SYSMFG?' ? { kind: 'error' } : undefined) });
    const module = await EspAtModule.connect(url, { timeoutMs: 500 });
    expect(await module.storageMode()).toBe('partitions');
    await module.close();
  });
});

describe('through the daemon', () => {
  it('a garbled first table does not make the port refuse jobs for a partition it has', async () => {
    const port = emulatedPort('g', { chip: 'esp32c3' });
    port.emulator.setFaultInjector(garbleFirstTable((t) => t.replace('"client_cert"', '"lient_cert"')));
    const t = await startTestStation({ ports: [port] });
    try {
      await eventually(async () => (await t.client.getStatus()).ports[0]!.state === 'up', 'port up');
      const run = await runJob(t.client, { type: 'update', port: 'g', partition: 'client_cert', source: { kind: 'items', items: [certAndKeySource().items[0]!] } });
      expect(run.view.state, JSON.stringify(run.view.error)).toBe('succeeded');
    } finally {
      await t.stop();
      removePorts([port]);
    }
  });
});
