import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../mock-device/cli-options.js';
import { EspAtEmulator } from '../../mock-device/emulator.js';
import { resetEmulators } from '../../mock-device/emulator-registry.js';
import { FlashStateFile } from '../../mock-device/flash-state-file.js';
import { createMockTransport, type MockTransport } from '../../mock-device/in-process-transport.js';
import { defaultMfgContent } from '../../mock-device/mfg-defaults.js';
import { MfgStore, crc32, decodeNumber, encodeNumber, truncateNumber } from '../../mock-device/mfg-store.js';
import { parseMockUrl } from '../../mock-device/mock-url.js';
import { Collector } from './transport-helpers.js';
import { bytes, quietEmulator } from './wire.js';

const tmp = mkdtempSync(join(tmpdir(), 'mock-device-mfg-'));
afterEach(() => resetEmulators());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OPEN = { baudRate: 115200, timeoutMs: 1000 };
const open = (url: string): Promise<MockTransport> => createMockTransport(new URL(url), OPEN);

/** Send one command over a transport and wait for its final OK/ERROR (or the SYSMFG prompt). */
async function command(t: MockTransport, rx: Collector, text: string | Buffer, until: string): Promise<string> {
  rx.clear();
  await t.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  return rx.waitFor(until);
}

describe('MfgStore', () => {
  it('round-trips through its partition image; an erased partition is an empty store', () => {
    const store = new MfgStore();
    store.set('factory_param', 'uart_baudrate', 6, encodeNumber(6, 115200));
    store.set('client_cert', 'client_cert.0', 8, bytes('\x00\xff\r\nPEM'));
    store.set('factory_param', 'module_name', 7, bytes('MINI-1'));
    const image = store.encode(0x3000);
    expect(image.length).toBe(0x3000);
    // An NVS page: state ACTIVE, sequence 0, version 2, header CRC (NVS's CRC-32: register starting at 0).
    expect(image.readUInt32LE(0)).toBe(0xfffffffe);
    expect(image[8]).toBe(0xfe);
    expect(image.readUInt32LE(28)).toBe(crc32(image.subarray(4, 28), 0));
    const back = MfgStore.decode(image)!;
    expect(back.namespaces()).toEqual(['factory_param', 'client_cert']);
    expect(back.keys()).toEqual(store.keys());
    expect(back.get('client_cert', 'client_cert.0')?.bytes).toEqual(bytes('\x00\xff\r\nPEM'));
    expect(back.get('factory_param', 'uart_baudrate')?.number).toBe(115200);
    expect(MfgStore.decode(Buffer.alloc(0x3000, 0xff))?.keys()).toEqual([]);
  });

  it('a page NVS could not use does not decode (bad state, bad header CRC, not whole pages, zeros)', () => {
    const store = new MfgStore();
    store.set('ns', 'key', 8, bytes('value'));
    const image = store.encode(0x3000);
    const badCrc = Buffer.from(image);
    badCrc[4]! ^= 1;
    expect(MfgStore.decode(badCrc)).toBeUndefined();
    const badState = Buffer.from(image);
    badState[0] = 0x42;
    expect(MfgStore.decode(badState)).toBeUndefined();
    expect(MfgStore.decode(image.subarray(0, 0x1800))).toBeUndefined();
    expect(MfgStore.decode(Buffer.alloc(0x3000, 0))).toBeUndefined();
    // A damaged entry is dropped, as the NVS library drops it; the rest stays readable.
    const badEntry = Buffer.from(image);
    badEntry[64 + 32 + 9]! ^= 1;
    expect(MfgStore.decode(badEntry)?.keys()).toEqual([]);
    expect(MfgStore.decode(image)?.get('ns', 'key')?.text).toBe('value');
  });

  it('numbers: width and truncation per type', () => {
    expect([1, 2, 3, 4, 5, 6].map((t) => encodeNumber(t as never, 1).length)).toEqual([1, 1, 2, 2, 4, 4]);
    expect(truncateNumber(1, 256 + 7)).toBe(7);
    expect(truncateNumber(2, 255)).toBe(-1);
    expect(truncateNumber(3, -1)).toBe(65535);
    expect(truncateNumber(4, 0x18000)).toBe(-32768);
    expect(truncateNumber(5, -2)).toBe(4294967294);
    expect(truncateNumber(6, 0xffffffff)).toBe(-1);
    expect(decodeNumber(4, encodeNumber(4, -12345))).toBe(-12345);
    expect(encodeNumber(6, 115200)).toEqual(Buffer.from([0x00, 0xc2, 0x01, 0x00]));
  });

  it('set() reports whether anything changed; a changed key moves to the end of its namespace', () => {
    const store = new MfgStore();
    expect(store.set('ns', 'a', 8, bytes('1'))).toBe(true);
    expect(store.set('ns', 'b', 8, bytes('2'))).toBe(true);
    expect(store.set('ns', 'a', 8, bytes('1'))).toBe(false);
    expect(store.keys().map((k) => k.key)).toEqual(['a', 'b']);
    expect(store.set('ns', 'a', 8, bytes('3'))).toBe(true);
    expect(store.keys().map((k) => k.key)).toEqual(['b', 'a']);
    expect(() => store.set('ns', 'n', 6, bytes('12'))).toThrow(/4 bytes/);
  });
});

describe('emulator mfg accessors', () => {
  it('writeMfgRaw / readMfg / mfgKeys / mfgNamespaces / eraseMfgRaw', async () => {
    const wire = await quietEmulator({ chip: 'esp32', firmware: '4.1.1.0', mfg: 'empty' });
    const dev = wire.emulator;
    expect(dev.mfgStatus).toBe('ok');
    expect(dev.mfgKeys()).toEqual([]);
    dev.writeMfgRaw('factory_param', 'uart_port', 2, -3);
    dev.writeMfgRaw('factory_param', 'module_name', 7, 'WROOM-32');
    dev.writeMfgRaw('client_key', 'client_key.0', 8, Buffer.from([1, 2, 3]));
    dev.writeMfgRaw('factory_param', 'raw_le', 3, Buffer.from([0x34, 0x12]));
    expect(dev.mfgNamespaces()).toEqual(['factory_param', 'client_key']);
    expect(dev.mfgKeys('factory_param')).toEqual([
      { namespace: 'factory_param', key: 'uart_port', type: 2 },
      { namespace: 'factory_param', key: 'module_name', type: 7 },
      { namespace: 'factory_param', key: 'raw_le', type: 3 },
    ]);
    expect(dev.readMfg('factory_param', 'uart_port')).toMatchObject({ type: 2, number: -3, bytes: Buffer.from([0xfd]) });
    expect(dev.readMfg('factory_param', 'module_name')).toMatchObject({ type: 7, text: 'WROOM-32' });
    expect(dev.readMfg('factory_param', 'raw_le')?.number).toBe(0x1234);
    expect(dev.readMfg('client_key', 'client_key.0')?.bytes).toEqual(Buffer.from([1, 2, 3]));
    expect(dev.readMfg('client_key', 'nope')).toBeUndefined();
    // The wire sees the same store.
    expect(await wire.exchange('AT+SYSMFG=1,"factory_param","uart_port"\r\n')).toBe('+SYSMFG:"factory_param","uart_port",2,2,-3\r\n\r\nOK\r\n');
    expect(dev.eraseMfgRaw('factory_param', 'uart_port')).toBe(true);
    expect(dev.eraseMfgRaw('factory_param', 'uart_port')).toBe(false);
    expect(dev.eraseMfgRaw('client_key')).toBe(true);
    expect(dev.mfgNamespaces()).toEqual(['factory_param']);
    // Raw accessors do not count as SYSMFG traffic.
    expect(dev.stats).toMatchObject({ mfgWrites: 0, mfgErases: 0, mfgReads: 1, mfgChanges: 0 });
  });

  it('writeMfgRaw bypasses the AT+SYSMFG limits (NUL in strings, > 8191 bytes), not NVS ones (15-character names)', async () => {
    const wire = await quietEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const dev = wire.emulator;
    dev.writeMfgRaw('ns', 'k', 7, 'with\x00nul');
    dev.writeMfgRaw('ns', 'big', 8, Buffer.alloc(10000, 1));
    expect(dev.readMfg('ns', 'k')?.text).toBe('with\x00nul');
    expect(dev.readMfg('ns', 'big')?.bytes.length).toBe(10000);
    expect(() => dev.writeMfgRaw('a_namespace_of_20ch', 'k', 7, 'x')).toThrow(/1…15 bytes/);
    // Over the wire the 16+ character namespace cannot even be named.
    expect(await wire.exchange('AT+SYSMFG=1,"a_namespace_of_20ch","k"\r\n')).toBe('\r\nERROR\r\n');
    expect(() => dev.writeMfgRaw('ns', 'k', 9 as never, 'x')).toThrow(RangeError);
    expect(() => dev.writeMfgRaw('ns', 'k', 8, 5)).toThrow(/not a number/);
    expect(() => dev.writeMfgRaw('', 'k', 8, 'x')).toThrow(RangeError);
    expect(() => dev.writeMfgRaw('ns', 'n', 6, Buffer.from([1]))).toThrow(/4 bytes/);
  });

  it('resetMfg() restores the factory content or empties the store', () => {
    const dev = new EspAtEmulator({ chip: 'esp32c3', firmware: '4.1.1.0', startup: 'off', mfg: 'empty' });
    expect(dev.mfgKeys()).toEqual([]);
    dev.resetMfg('default');
    expect(dev.mfgKeys().length).toBe(defaultMfgContent('esp32c3').length);
    dev.resetMfg('empty');
    expect(dev.mfgKeys()).toEqual([]);
  });

  it('legacy presets have no mfg accessors', () => {
    const dev = new EspAtEmulator({ chip: 'esp32c3', startup: 'off' });
    expect(dev.mfgStatus).toBe('none');
    expect(() => dev.readMfg('a', 'b')).toThrow(/no mfg_nvs/);
    expect(() => dev.writeMfgRaw('a', 'b', 1, 1)).toThrow(/no mfg_nvs/);
    expect(() => dev.resetMfg()).toThrow(/no mfg_nvs/);
  });
});

describe('factory content (mfg=default)', () => {
  it('is the default: factory_param plus client_cert.0/.1, client_key.*, client_ca.* and single-key server/mqtt namespaces', () => {
    const dev = new EspAtEmulator({ chip: 'esp32', firmware: '3.2.0.0', startup: 'off' });
    const keys = dev.mfgKeys().map((k) => `${k.namespace}/${k.key}:${k.type}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'factory_param/module_name:7',
        'factory_param/uart_baudrate:6',
        'factory_param/uart_port:2',
        'client_cert/client_cert.0:8',
        'client_cert/client_cert.1:8',
        'client_key/client_key.0:8',
        'client_key/client_key.1:8',
        'client_ca/client_ca.0:8',
        'client_ca/client_ca.1:8',
        'server_cert/server_cert:8',
        'server_key/server_key:8',
        'server_ca/server_ca:8',
        'mqtt_cert/mqtt_cert:8',
        'mqtt_key/mqtt_key:8',
        'mqtt_ca/mqtt_ca:8',
      ]),
    );
    expect(dev.readMfg('factory_param', 'uart_baudrate')?.number).toBe(115200);
    expect(dev.readMfg('factory_param', 'uart_tx_pin')?.number).toBe(17);
    const cert = dev.readMfg('client_cert', 'client_cert.0')!.text!;
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    expect(cert.length).toBeGreaterThan(1000);
    expect(cert.length).toBeLessThan(8191);
    expect(dev.readMfg('client_key', 'client_key.0')!.text).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    // Different keys hold different placeholders.
    expect(dev.readMfg('client_cert', 'client_cert.1')!.text).not.toBe(cert);
  });

  it('is deterministic, per chip pins, and survives fill=garbage (only mfg_nvs is rewritten)', () => {
    const a = new EspAtEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', startup: 'off' });
    const b = new EspAtEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', startup: 'off', fill: 'garbage', seed: 3 });
    expect(a.readPartition('mfg_nvs').equals(b.readPartition('mfg_nvs'))).toBe(true);
    expect(b.readPartition('fatfs').every((x) => x === 0xff)).toBe(false);
    expect(a.readMfg('factory_param', 'uart_tx_pin')?.number).toBe(7);
    expect(b.mfgStatus).toBe('ok');
  });

  it('mfg=empty starts without keys; flashImage is taken as given', () => {
    const empty = new EspAtEmulator({ chip: 'esp32c2', firmware: '3.1.0.0', startup: 'off', mfg: 'empty' });
    expect(empty.mfgKeys()).toEqual([]);
    const image = empty.flashImage();
    const fromImage = new EspAtEmulator({ chip: 'esp32c2', firmware: '3.1.0.0', startup: 'off', mfg: 'default', flashImage: image });
    expect(fromImage.mfgKeys()).toEqual([]);
    const erasedImage = new EspAtEmulator({
      chip: 'esp32c2',
      firmware: '3.1.0.0',
      startup: 'off',
      flashImage: Buffer.alloc(image.length, 0),
    });
    expect(erasedImage.mfgStatus).toBe('corrupt');
  });
});

describe('mfg_nvs persistence (state= files)', () => {
  it('two runs against the same state file see the keys written with AT+SYSMFG', async () => {
    const path = join(tmp, 'c3-v32.bin');
    const first = await open(`mock://esp32c3?fw=3.2.0.0&mfg=empty&state=${path}&boot=0`);
    const rx = new Collector(first);
    expect(await command(first, rx, 'ATE0\r\n', '\r\nOK\r\n')).toBe('ATE0\r\n\r\nOK\r\n');
    expect(await command(first, rx, 'AT+SYSMFG=2,"client_cert","client_cert.0",8,5\r\n', '>')).toBe('\r\nOK\r\n\r\n>');
    expect(await command(first, rx, 'CERT!', '\r\nOK\r\n')).toBe('\r\nOK\r\n');
    expect(await command(first, rx, 'AT+SYSMFG=2,"factory_param","uart_baudrate",6,921600\r\n', '\r\nOK\r\n')).toBe('\r\nOK\r\n');
    await first.close();
    expect(existsSync(path)).toBe(true);
    const file = readFileSync(path);
    expect(file.length).toBe(0x60000);
    expect(file.readUInt32LE(0x1f000)).toBe(0xfffffffe); // mfg_nvs's first page: an active NVS page

    // mfg=default on the second open does not override the saved store.
    const second = await open(`mock://esp32c3?fw=3.2.0.0&mfg=default&state=${path}&boot=0`);
    const rx2 = new Collector(second);
    await command(second, rx2, 'ATE0\r\n', '\r\nOK\r\n');
    expect(await command(second, rx2, 'AT+SYSMFG?\r\n', '\r\nOK\r\n')).toBe('+SYSMFG:"client_cert"\r\n+SYSMFG:"factory_param"\r\n\r\nOK\r\n');
    expect(await command(second, rx2, 'AT+SYSMFG=1,"client_cert","client_cert.0"\r\n', '\r\nOK\r\n')).toBe(
      '+SYSMFG:"client_cert","client_cert.0",8,5,CERT!\r\n\r\nOK\r\n',
    );
    expect(second.emulator.readMfg('factory_param', 'uart_baudrate')?.number).toBe(921600);
    await second.close();
  });

  it('an AT+SYSFLASH erase of mfg_nvs clears the store, also in the state file', async () => {
    const path = join(tmp, 'esp32-v411.bin');
    const first = await open(`mock://esp32?fw=4.1.1.0&state=${path}&boot=0`);
    expect(first.emulator.mfgKeys().length).toBeGreaterThan(0);
    const rx = new Collector(first);
    await command(first, rx, 'ATE0\r\n', '\r\nOK\r\n');
    expect(await command(first, rx, 'AT+SYSFLASH=0,"mfg_nvs"\r\n', '\r\nOK\r\n')).toBe('\r\nOK\r\n');
    await first.close();

    const second = await open(`mock://esp32?fw=4.1.1.0&state=${path}&boot=0`);
    expect(second.emulator.mfgKeys()).toEqual([]);
    const rx2 = new Collector(second);
    await command(second, rx2, 'ATE0\r\n', '\r\nOK\r\n');
    expect(await command(second, rx2, 'AT+SYSMFG?\r\n', '\r\nOK\r\n')).toBe('\r\nOK\r\n');
    await second.close();
  });

  it('accessor writes are saved too (flashchange)', () => {
    const path = join(tmp, 'c2-direct.bin');
    const dev = new EspAtEmulator({ chip: 'esp32c2-2mb', firmware: '4.1.1.0', startup: 'off', mfg: 'empty' });
    const file = FlashStateFile.attach(dev, path);
    dev.writeMfgRaw('ns', 'key', 7, 'saved');
    file.detach();
    const again = new EspAtEmulator({ chip: 'esp32c2-2mb', firmware: '4.1.1.0', startup: 'off', flashImage: readFileSync(path) });
    expect(again.readMfg('ns', 'key')?.text).toBe('saved');
  });
});

describe('mfg URL and CLI options', () => {
  it('mock://…?fw=3.2.0.0&mfg=empty selects the v3 personality', async () => {
    expect(parseMockUrl('mock://esp32c3?fw=3.2.0.0&mfg=empty').emulator).toEqual({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    expect(parseMockUrl('mock://esp32c6').emulator).toEqual({ chip: 'esp32c6' });
    expect(() => parseMockUrl('mock://esp32?mfg=full')).toThrow(/mfg must be one of default, empty/);
    expect(() => parseMockUrl('mock://esp32c2?fw=3.2.0.0')).toThrow(/known: 3\.0\.0\.0, 3\.1\.0\.0, 4\.1\.1\.0/);
    // Accepted (and without effect) on a legacy preset.
    expect(parseMockUrl('mock://esp32?mfg=empty').emulator.mfg).toBe('empty');

    const t = await open('mock://esp32c3?fw=3.2.0.0&mfg=empty');
    const rx = new Collector(t);
    await rx.waitFor('\r\nready\r\n');
    expect(await command(t, rx, 'AT+GMR\r\n', '\r\nOK\r\n')).toMatch(/^AT\+GMR\r\nAT version:3\.2\.0\.0\(/);
    expect(await command(t, rx, 'AT+SYSMFG?\r\n', '\r\nOK\r\n')).toBe('AT+SYSMFG?\r\n\r\nOK\r\n');
    await t.close();
  });

  it('--mfg and --fw on the CLI', () => {
    expect(parseCliArgs(['--chip', 'esp32c3', '--fw', '4.1.1.0', '--mfg', 'empty', '--tcp'])).toMatchObject({
      kind: 'serve',
      emulator: { chip: 'esp32c3', firmware: '4.1.1.0', mfg: 'empty' },
    });
    expect(parseCliArgs(['--pty', '--mfg', 'nope'])).toMatchObject({ kind: 'error', message: /--mfg/ });
  });
});
