import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEmulator, getEmulator, resetEmulators } from '../../mock-device/emulator-registry.js';
import { createMockTransport, type MockTransport } from '../../mock-device/in-process-transport.js';
import { Collector, once } from './transport-helpers.js';

const OPEN = { baudRate: 115200, timeoutMs: 1000 };
const open = (url: string, options: Partial<typeof OPEN> & { signal?: AbortSignal } = {}): Promise<MockTransport> =>
  createMockTransport(new URL(url), { ...OPEN, ...options });

const tmp = mkdtempSync(join(tmpdir(), 'mock-device-'));
afterEach(() => resetEmulators());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('createMockTransport', () => {
  it('opens a fresh module that says ready, and talks AT', async () => {
    const t = await open('mock://esp32c3');
    expect(t.url).toBe('mock://esp32c3');
    expect(t.isOpen).toBe(true);
    expect(t.baudRate).toBe(115200);
    const rx = new Collector(t);
    await rx.waitFor('\r\nready\r\n');
    await t.write(Buffer.from('AT+GMR\r\n'));
    const text = await rx.waitFor('\r\nOK\r\n');
    expect(text).toMatch(/^\r\nready\r\nAT\+GMR\r\nAT version:2\.4\.0\.0\(.* - ESP32C3 - /);
    await t.close();
  });

  it('keeps early output until a data listener is attached', async () => {
    const t = await open('mock://esp32');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const rx = new Collector(t);
    await rx.waitFor('\r\nready\r\n');
    expect(rx.text).toBe('\r\nready\r\n');
    await t.close();
  });

  it('boot=0 skips the ready', async () => {
    const t = await open('mock://esp32?boot=0');
    const rx = new Collector(t);
    await t.write(Buffer.from('AT\r\n'));
    expect(await rx.waitFor('\r\nOK\r\n')).toBe('AT\r\n\r\nOK\r\n');
    await t.close();
  });

  it('close() emits close once without an error; writes then reject with DISCONNECTED', async () => {
    const t = await open('mock://esp32');
    const closes: unknown[][] = [];
    t.on('close', (...args: unknown[]) => closes.push(args));
    await t.close();
    await t.close();
    expect(closes).toEqual([[]]);
    expect(t.isOpen).toBe(false);
    await expect(t.write(Buffer.from('AT\r\n'))).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('rejects bad URLs and aborted signals', async () => {
    await expect(open('mock://esp99')).rejects.toMatchObject({ code: 'PORT_UNAVAILABLE' });
    await expect(open('mock://esp32?fw=1.0.0.0')).rejects.toThrow(/known: 2\.4\.0\.0/);
    await expect(open('mock://esp32?colour=red')).rejects.toThrow(/unknown option "colour"/);
    await expect(open('mock://esp32', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('applies fill/seed from the URL deterministically', async () => {
    const a = await open('mock://esp32c3?fill=garbage&seed=7&boot=0');
    const b = await open('mock://esp32c3?fill=garbage&seed=7&boot=0');
    const c = await open('mock://esp32c3?fill=garbage&seed=8&boot=0');
    const cert = (t: MockTransport): Buffer => t.emulator.readPartition('client_cert');
    expect(cert(a).every((x) => x === 0xff)).toBe(false);
    expect(cert(a).equals(cert(b))).toBe(true);
    expect(cert(a).equals(cert(c))).toBe(false);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('line and flash timing still give the exact bytes', async () => {
    const t = await open('mock://esp32c3?timing=line,flash&eraseMs=5&pageMs=0.1');
    const rx = new Collector(t);
    await rx.waitFor('ready\r\n');
    await t.write(Buffer.from('ATE0\r\n'));
    await rx.waitFor('ATE0\r\n\r\nOK\r\n');
    rx.clear();
    await t.write(Buffer.from('AT+SYSFLASH=0,"client_cert"\r\n'));
    await rx.waitFor('\r\nOK\r\n');
    rx.clear();
    const payload = Buffer.alloc(600, 0x5a);
    await t.write(Buffer.from(`AT+SYSFLASH=1,"client_cert",0,${payload.length}\r\n`));
    await rx.waitFor('>');
    await t.write(payload);
    await rx.waitFor('\r\nOK\r\n');
    rx.clear();
    await t.write(Buffer.from(`AT+SYSFLASH=2,"client_cert",0,${payload.length}\r\n`));
    await rx.waitFor('\r\nOK\r\n');
    expect(rx.bytes).toEqual(Buffer.concat([Buffer.from('+SYSFLASH:600,'), payload, Buffer.from('\r\nOK\r\n')]));
    await t.close();
  });
});

describe('named emulators (registry)', () => {
  it('a test creates "unit1", the code under test opens it by id', async () => {
    const unit = createEmulator('unit1', { chip: 'esp32c3', startup: 'running' });
    const t = await open('mock://esp32c3?id=unit1');
    expect(t.emulator).toBe(unit);
    const rx = new Collector(t);
    await rx.waitFor('ready\r\n');
    await t.write(Buffer.from('AT+SYSFLASH=1,"client_key",0,3\r\n'));
    await rx.waitFor('>');
    await t.write(Buffer.from('abc'));
    await rx.waitFor('\r\nOK\r\n');
    await t.close();
    // The module outlives the transport, flash intact.
    expect(getEmulator('unit1')).toBe(unit);
    expect(unit.readPartition('client_key').subarray(0, 3).toString()).toBe('abc');
    expect(unit.stats.flashBytesWritten).toBe(3);
  });

  it('an unknown id is created from the URL and reused by the next open', async () => {
    const first = await open('mock://esp8266?id=fresh&fill=garbage&seed=2&boot=0');
    const emulator = getEmulator('fresh');
    expect(emulator?.chip).toBe('esp8266');
    await first.close();
    const second = await open('mock://esp8266?id=fresh');
    expect(second.emulator).toBe(emulator);
    await second.close();
  });

  it('refuses a second open of the same module while the first is open', async () => {
    const t = await open('mock://esp32?id=locked');
    await expect(open('mock://esp32?id=locked')).rejects.toMatchObject({ code: 'PORT_UNAVAILABLE' });
    await t.close();
    const again = await open('mock://esp32?id=locked');
    await again.close();
  });

  it('unplug(): close with a DISCONNECTED error, writes reject; a new open powers it again', async () => {
    const unit = createEmulator('unplugged', { chip: 'esp32' });
    const t = await open('mock://esp32?id=unplugged');
    const rx = new Collector(t);
    await rx.waitFor('ready\r\n');
    const closed = once<[Error & { code?: string }]>(t, 'close');
    unit.unplug();
    const [error] = await closed;
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('DISCONNECTED');
    expect(t.isOpen).toBe(false);
    await expect(t.write(Buffer.from('AT\r\n'))).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(unit.powered).toBe(false);

    const again = await open('mock://esp32?id=unplugged');
    const rx2 = new Collector(again);
    await rx2.waitFor('\r\nready\r\n');
    await again.close();
  });

  it('resetEmulators() disconnects open transports and empties the registry', async () => {
    const t = await open('mock://esp32?id=gone');
    const closed = once<[Error & { code?: string }]>(t, 'close');
    resetEmulators();
    expect((await closed)[0].code).toBe('DISCONNECTED');
    expect(getEmulator('gone')).toBeUndefined();
  });
});

describe('baud rate mismatch', () => {
  it('garbles both directions until host and module agree', async () => {
    const t = await open('mock://esp32c3?boot=0');
    const rx = new Collector(t);
    await t.write(Buffer.from('AT+UART_CUR=921600,8,1,0,0\r\n'));
    await rx.waitFor('\r\nOK\r\n');
    rx.clear();
    // Host still at 115200: the module sees junk and never answers; no CR LF in it either.
    await t.write(Buffer.from('AT\r\n'));
    await t.emulator.whenIdle();
    expect(rx.text).toBe('');
    await t.setBaudRate(921600);
    expect(t.baudRate).toBe(921600);
    // First line is "<junk>AT": the module answers ERROR (echoing the junk), then AT works.
    await t.write(Buffer.from('AT\r\n'));
    await rx.waitFor('\r\nERROR\r\n');
    rx.clear();
    await t.write(Buffer.from('AT\r\n'));
    expect(await rx.waitFor('\r\nOK\r\n')).toBe('AT\r\n\r\nOK\r\n');
    await t.close();
  });

  it('a host at the wrong rate gets junk instead of ready', async () => {
    const t = await open('mock://esp32', { baudRate: 921600 });
    const rx = new Collector(t);
    await t.emulator.whenIdle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rx.bytes.length).toBe('\r\nready\r\n'.length);
    expect(rx.bytes.every((b) => b === 0x00 || b === 0xff)).toBe(true);
    await t.close();
  });
});

describe('state file', () => {
  it('two runs against the same state= file see the same flash', async () => {
    const path = join(tmp, 'flash.bin');
    const first = await open(`mock://esp32c3?state=${path}&boot=0`);
    const rx = new Collector(first);
    await first.write(Buffer.from('ATE0\r\n'));
    await rx.waitFor('OK\r\n');
    await first.write(Buffer.from('AT+SYSFLASH=1,"client_cert",4,5\r\n'));
    await rx.waitFor('>');
    await first.write(Buffer.from('hello'));
    await rx.waitFor('>\r\nOK\r\n');
    await first.close();
    expect(statSync(path).size).toBe(0x60000);
    expect(readFileSync(path).subarray(0x2b004, 0x2b009).toString()).toBe('hello');

    const second = await open(`mock://esp32c3?state=${path}&boot=0`);
    expect(second.emulator.readPartition('client_cert').subarray(4, 9).toString()).toBe('hello');
    await second.close();
  });

  it('creates the file for a fresh module and rejects an image of the wrong size', async () => {
    const path = join(tmp, 'new.bin');
    const t = await open(`mock://esp32c2?state=${path}&fill=garbage`);
    expect(statSync(path).size).toBe(t.emulator.flash.size);
    await t.close();
    const wrong = join(tmp, 'wrong.bin');
    writeFileSync(wrong, Buffer.alloc(1234));
    await expect(open(`mock://esp32c2?state=${wrong}`)).rejects.toMatchObject({ code: 'PORT_UNAVAILABLE' });
  });
});
