/**
 * Cancelling a write at the worst moment — its command sent, the module not yet at its `>` prompt —
 * must not leave the module in data mode: the session waits for the prompt before topping up, so
 * the 0xFF bytes are not thrown away as busy input. Emulator only (it writes to flash).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, removeEmulator, type EspAtEmulator } from '../../mock-device/index.js';
import { AtSession } from '../../src/at/session.js';
import { AbortedError } from '../../src/errors.js';
import { openTransport } from '../../src/transport/open.js';
import type { Transport } from '../../src/transport/transport.js';
import { registerMockScheme } from '../support/device.js';

let emulator: EspAtEmulator | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  await transport?.close();
  removeEmulator('session-cancel');
});

async function connect(): Promise<AtSession> {
  registerMockScheme();
  emulator = createEmulator('session-cancel', { chip: 'esp32' });
  transport = await openTransport('mock://esp32?id=session-cancel');
  return AtSession.connect(transport, { commandTimeoutMs: 500 });
}

describe('AtSession cancel during a write', () => {
  it('tops up only after the prompt, so the module leaves data mode and answers again', async () => {
    const session = await connect();
    const controller = new AbortController();
    const write = transport!.write.bind(transport);
    transport!.write = async (data: Uint8Array) => {
      await write(data);
      // Ctrl-C lands right after the command went out, before the module prompted.
      if (Buffer.from(data).toString('latin1').startsWith('AT+SYSFLASH=1,')) controller.abort(new Error('Ctrl-C'));
    };
    const data = Buffer.alloc(1024, 0x00);
    await expect(session.command('AT+SYSFLASH=1,"client_cert",0,1024', { data, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    await expect(session.command('AT')).resolves.toEqual({ lines: [] });
    expect(emulator!.state).toBe('command');
    // The module got 0xFF (harmless on flash), never our data.
    expect(emulator!.readPartition('client_cert').subarray(0, 1024).every((b) => b === 0xff)).toBe(true);
  });

  it('does not send a command whose cancel came before it', async () => {
    const session = await connect();
    const commands: string[] = [];
    emulator!.on('command', (line) => commands.push(line));
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(session.command('AT+SYSFLASH=1,"client_cert",0,4', { data: Buffer.alloc(4), signal: controller.signal })).rejects.toThrow(
      /cancelled before sending AT\+SYSFLASH: stop/,
    );
    expect(commands).toEqual([]);
  });
});
