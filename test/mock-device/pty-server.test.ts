import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { EspAtEmulator } from '../../mock-device/emulator.js';
import { servePty } from '../../mock-device/pty-server.js';
import { eofSafeBinding } from '../../src/transport/serial-binding.js';
import { Collector, once } from './transport-helpers.js';

/**
 * A serialport client, as at-pki opens it: with the hang-up-safe binding, because plain serialport 13
 * can miss a hang-up that races with a read (bindings-cpp#162) and these tests wait for one.
 */
function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const options = { path, baudRate: 115200, lock: true, binding: eofSafeBinding() };
    const port = new SerialPort(options, (error) => (error ? reject(error) : resolve(port)));
  });
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => port.close(() => resolve()));
}

describe('servePty', () => {
  it('serialport opens the pty, AT works, close/reopen works, server close disconnects it', async () => {
    const emulator = new EspAtEmulator({ chip: 'esp32', startup: 'running' });
    const pty = await servePty(emulator);
    expect(pty.path).toMatch(/^\/dev\//);

    const port = await openPort(pty.path);
    const rx = new Collector(port);
    port.write('AT\r\n');
    expect(await rx.waitFor('\r\nOK\r\n')).toBe('AT\r\n\r\nOK\r\n');

    // Binary payload through the pty, byte-exact (raw mode on both ends: no CR/LF mapping, no echo).
    rx.clear();
    const payload = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x03, 0x04, 0x11, 0x13, 0x7f, 0x0a, 0x0d, 0x3e]);
    port.write(`AT+SYSFLASH=1,"client_cert",0,${payload.length}\r\n`);
    await rx.waitFor('>');
    port.write(payload);
    await rx.waitFor('\r\nOK\r\n');
    expect(emulator.readPartition('client_cert').subarray(0, payload.length)).toEqual(payload);
    rx.clear();
    port.write(`AT+SYSFLASH=2,"client_cert",0,${payload.length}\r\n`);
    await rx.waitFor('\r\nOK\r\n');
    expect(rx.bytes.includes(Buffer.concat([Buffer.from(`+SYSFLASH:${payload.length},`), payload, Buffer.from('\r\nOK\r\n')]))).toBe(true);

    // A client may close and re-open: the bridge keeps the pty alive.
    await closePort(port);
    const again = await openPort(pty.path);
    const rx2 = new Collector(again);
    again.write('AT\r\n');
    await rx2.waitFor('\r\nOK\r\n');

    const closed = once<[(Error & { disconnected?: boolean }) | null]>(again, 'close');
    await pty.close();
    const [error] = await closed;
    expect(error?.disconnected).toBe(true);
    await pty.close();
  });

  it('unplug() tears the pty down', async () => {
    const emulator = new EspAtEmulator({ startup: 'running' });
    const pty = await servePty(emulator);
    const port = await openPort(pty.path);
    // serialport only notices a hang-up while it is reading, as any real client is.
    const rx = new Collector(port);
    port.write('AT\r\n');
    await rx.waitFor('\r\nOK\r\n');
    const closed = once<[(Error & { disconnected?: boolean }) | null]>(port, 'close');
    emulator.unplug();
    const [error] = await closed;
    expect(error?.disconnected).toBe(true);
  });
});
