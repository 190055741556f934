/**
 * `--fast-baud` (withFastBaud) against the emulator, which switches its UART after the OK of
 * AT+UART_CUR has left the wire and garbles every byte while the two ends disagree on the rate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, serveTcp, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import { AbortedError, DeviceError, TimeoutError, UsageError } from '../../src/errors.js';
import type { OperationEvent } from '../../src/flash/events.js';
import { withFastBaud } from '../../src/flash/fast-baud.js';
import { EspAtModule } from '../../src/flash/module.js';
import { updatePartition } from '../../src/flash/update.js';
import { registerMockScheme } from '../support/device.js';

const LABEL = 'client_cert';
const bin = Buffer.alloc(6000);
for (let i = 0; i < bin.length; i++) bin[i] = (i * 13 + 7) & 0xff;

let names: string[] = [];
let opened: EspAtModule[] = [];

afterEach(async () => {
  for (const module of opened) await module.close().catch(() => {});
  for (const name of names) removeEmulator(name);
  names = [];
  opened = [];
});

let counter = 0;
async function setup(options: EspAtEmulatorOptions = {}, timeoutMs = 400): Promise<{ emulator: EspAtEmulator; module: EspAtModule; commands: string[] }> {
  registerMockScheme();
  const name = `fast-baud-${++counter}`;
  names.push(name);
  const emulator = createEmulator(name, { chip: 'esp32', ...options });
  const commands: string[] = [];
  emulator.on('command', (line) => commands.push(line));
  const module = await EspAtModule.connect(`mock://${emulator.chip}?id=${name}`, { timeoutMs });
  opened.push(module);
  return { emulator, module, commands };
}

function recorder(): { events: OperationEvent[]; messages: () => string } {
  const events: OperationEvent[] = [];
  return { events, messages: () => events.map((e) => (e.type === 'log' ? `${e.level}: ${e.message}` : '')).join('\n') };
}

describe('withFastBaud', () => {
  it('runs the work with both ends at the fast rate, then puts both back', async () => {
    const { emulator, module, commands } = await setup();
    const log = recorder();
    const seen = await withFastBaud(
      module,
      921600,
      async () => {
        const during = { module: emulator.baudRate, host: module.transport.baudRate };
        await updatePartition(module, LABEL, bin);
        return during;
      },
      { onEvent: (e) => log.events.push(e) },
    );
    expect(seen).toEqual({ module: 921600, host: 921600 });
    expect(emulator.baudRate).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
    expect(commands).toContain('AT+UART_CUR=921600,8,1,0,0');
    expect(commands.at(-2)).toBe('AT+UART_CUR=115200,8,1,0,0');
    expect(commands.at(-1)).toBe('AT'); // the probe at the restored rate
    expect(log.messages()).toMatch(/switched the line to 921600 baud[\s\S]*back at 115200 baud/);
    await expect(module.session.command('AT+GMR')).resolves.toBeDefined();
  });

  it("keeps the module's framing and flow control, changing only the rate", async () => {
    const { emulator, module, commands } = await setup();
    await module.session.command('AT+UART_CUR=115200,8,1,0,3');
    await withFastBaud(module, 460800, async () => expect(emulator.uartConfig).toMatchObject({ baudRate: 460800, flowControl: 3 }));
    expect(emulator.uartConfig).toMatchObject({ baudRate: 115200, flowControl: 3 });
    expect(commands).toContain('AT+UART_CUR=460800,8,1,0,3');
  });

  it('does nothing when the fast rate is the current one', async () => {
    const { module, commands } = await setup();
    const before = commands.length;
    await withFastBaud(module, 115200, async () => {});
    expect(commands.length).toBe(before);
  });

  it('stays at the original rate when the module refuses the fast one (ERROR), with a warning', async () => {
    const { emulator, module, commands } = await setup({ chip: 'esp32c2' }); // its UART tops out at 2.5 Mbaud
    const log = recorder();
    const during = await withFastBaud(module, 3_000_000, async () => {
      await updatePartition(module, LABEL, bin);
      return emulator.baudRate;
    }, { onEvent: (e) => log.events.push(e) });
    expect(during).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
    expect(commands).toContain('AT+UART_CUR=3000000,8,1,0,0');
    expect(log.messages()).toMatch(/warn: staying at 115200 baud: the module refused 3000000 baud/);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
  });

  it('stays at the original rate, without asking the module, when the host port cannot do the rate', async () => {
    const { emulator, module, commands } = await setup();
    const transport = module.transport;
    const setBaudRate = transport.setBaudRate.bind(transport);
    transport.setBaudRate = async (rate: number) => {
      if (rate === 921600) throw new Error('baud rate 921600 not supported');
      return setBaudRate(rate);
    };
    const log = recorder();
    const during = await withFastBaud(module, 921600, async () => emulator.baudRate, { onEvent: (e) => log.events.push(e) });
    expect(during).toBe(115200);
    expect(commands.some((c) => c.startsWith('AT+UART_CUR='))).toBe(false);
    expect(log.messages()).toMatch(/staying at 115200 baud: this port cannot be set to 921600 baud/);
  });

  it('goes back when the module acknowledged but does not answer at the new rate (and runs the work at the old one)', async () => {
    // A module that says OK to AT+UART_CUR and then stays where it was.
    const liar = [{ name: '+UART_CUR', set: () => 'OK' as const, query: () => 'ERROR' as const }];
    const { emulator, module } = await setup({ extraCommands: [liar] }, 200);
    const log = recorder();
    const during = await withFastBaud(module, 921600, async () => {
      await updatePartition(module, LABEL, bin);
      return module.transport.baudRate;
    }, { onEvent: (e) => log.events.push(e) });
    expect(during).toBe(115200);
    expect(emulator.baudRate).toBe(115200);
    expect(log.messages()).toMatch(/staying at 115200 baud: the module did not answer at 921600 baud/);
    expect(emulator.readPartition(LABEL).subarray(0, bin.length)).toEqual(bin);
  });

  it('switches back after the work failed, and passes the failure on', async () => {
    const { emulator, module } = await setup();
    const failure = new DeviceError('something went wrong mid-transfer');
    await expect(
      withFastBaud(module, 921600, async () => {
        await module.session.command('AT');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(emulator.baudRate).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
    await expect(module.session.command('AT')).resolves.toBeDefined();
  });

  it('switches back after the module went silent mid-transfer (timeout in a data phase)', async () => {
    const { emulator, module } = await setup({}, 300);
    let mute = false;
    emulator.setFaultInjector({
      onCommand(line) {
        if (!mute && line.startsWith('AT+SYSFLASH=1,')) {
          mute = true; // the prompt and everything after it are lost for a while
          setTimeout(() => (mute = false), 700);
        }
      },
      filterOutput: (chunk) => (mute ? null : chunk),
    });
    const error = await withFastBaud(module, 921600, () => updatePartition(module, LABEL, bin)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).not.toMatch(/stays at/);
    emulator.setFaultInjector(undefined);
    expect(emulator.baudRate).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
    await expect(updatePartition(module, LABEL, bin)).resolves.toMatchObject({ verified: true });
  });

  it('switches back after a cancel (Ctrl-C) mid-transfer', async () => {
    const { emulator, module } = await setup();
    const controller = new AbortController();
    const error = await withFastBaud(
      module,
      921600,
      () =>
        updatePartition(module, LABEL, bin, {
          signal: controller.signal,
          onEvent: (e) => e.type === 'progress' && e.phase === 'write' && e.done > 0 && controller.abort(new Error('interrupted')),
        }),
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(emulator.baudRate).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
    await expect(module.session.command('AT')).resolves.toBeDefined();
  });

  it('does not switch at all when cancelled before it started', async () => {
    const { emulator, module, commands } = await setup();
    const controller = new AbortController();
    controller.abort(new Error('Ctrl-C'));
    let ran = false;
    const error = await withFastBaud(module, 921600, async () => void (ran = true), { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(ran).toBe(false);
    expect(commands.some((c) => c.startsWith('AT+UART_CUR'))).toBe(false);
    expect(emulator.baudRate).toBe(115200);
    expect(module.transport.baudRate).toBe(115200);
  });

  it('finds the module again at its boot rate when it restarted during the work', async () => {
    const { emulator, module } = await setup({ bootDelayMs: 1 }, 200);
    const error = await withFastBaud(module, 921600, async () => {
      emulator.reset(); // back to 115200, as after any restart
      await module.session.command('AT'); // garbled both ways now: times out
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).not.toMatch(/stays at/);
    expect(module.transport.baudRate).toBe(115200);
    await expect(module.session.command('AT')).resolves.toBeDefined();
  });

  it('says so when the module cannot be brought back', async () => {
    const { emulator, module } = await setup({}, 150);
    const error = await withFastBaud(module, 921600, async () => {
      emulator.setFaultInjector({ filterOutput: () => null, filterInput: () => null }); // the line is dead from now on
      return 'done';
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).message).toMatch(/could not be switched back to 115200 baud.*stays at 921600 baud until it is reset/);
  }, 30_000);

  it('refuses tcp:// ports (the server would not follow the rate) before touching the module', async () => {
    const name = `fast-baud-${++counter}`;
    names.push(name);
    const emulator = createEmulator(name, { chip: 'esp32' });
    const server = await serveTcp(emulator);
    try {
      const module = await EspAtModule.connect(server.url);
      opened.push(module);
      const commands: string[] = [];
      emulator.on('command', (line) => commands.push(line));
      await expect(withFastBaud(module, 921600, async () => {})).rejects.toBeInstanceOf(UsageError);
      expect(commands).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
