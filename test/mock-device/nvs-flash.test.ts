/**
 * The emulator's NVS code (mock-device/nvs-flash.ts, behind MfgStore) against at-pki's codec
 * (src/pki/nvs): two independent implementations reading each other's images.
 */
import { describe, expect, it } from 'vitest';
import { MfgStore } from '../../mock-device/mfg-store.js';
import { decodeNvs } from '../../src/pki/nvs/decoder.js';
import { NvsImageBuilder } from '../../src/pki/nvs/encoder.js';
import { nvsVectors } from '../pki/nvs/support.js';

describe('emulator NVS ⇄ at-pki NVS codec', () => {
  it("the emulator reads every key of the generator's images (vectors)", () => {
    for (const vector of nvsVectors()) {
      const store = MfgStore.decode(vector.expected)!;
      expect(store, vector.name).toBeDefined();
      const decoded = decodeNvs(vector.expected);
      for (const item of decoded.items) {
        const got = store.get(item.namespace!, item.key);
        expect(got, `${vector.name} ${item.key}`).toBeDefined();
        if (item.value !== undefined) expect(BigInt(got!.number!)).toBe(item.value);
        else expect(got!.bytes.equals(item.bytes!)).toBe(true);
      }
    }
  });

  it('at-pki reads what the emulator writes: appended values, erased old entries, a fresh layout when full', () => {
    const builder = new NvsImageBuilder(0x5000);
    builder.namespace('factory_param');
    builder.set('uart_baudrate', { kind: 'integer', type: 'i32', value: 115200n });
    let store = MfgStore.decode(builder.finish())!;
    store.set('factory_param', 'uart_baudrate', 6, Buffer.from([0x00, 0x10, 0x0e, 0x00])); // 921600
    store.set('client_cert', 'client_cert.0', 8, Buffer.alloc(5000, 0x41));
    store.set('factory_param', 'module_name', 7, Buffer.from('MINI-1'));
    let image = store.encode(0x5000);
    let decoded = decodeNvs(image);
    expect(decoded.problems).toEqual([]);
    expect(decoded.items.map((item) => `${item.namespace}/${item.key}`)).toEqual(['factory_param/uart_baudrate', 'client_cert/client_cert.0', 'factory_param/module_name']);
    expect(decoded.items[0]!.value).toBe(921600n);
    expect(decoded.items[1]).toMatchObject({ blobLayout: 'chunked', chunks: 2, size: 5000, readable: true });
    expect(decoded.erased).toEqual([{ page: 0, entry: 1, key: 'uart_baudrate', namespaceIndex: 1, type: 'i32', span: 1 }]);

    // Rewrites until the free pages run out: the store lays its values out afresh and stays readable.
    for (let round = 0; round < 6; round++) {
      store = MfgStore.decode(image)!;
      expect(store.set('client_cert', 'client_cert.0', 8, Buffer.alloc(5000, 0x42 + round))).toBe(true);
      expect(store.fits(0x5000)).toBe(true);
      image = store.encode(0x5000);
      decoded = decodeNvs(image);
      expect(decoded.valid).toBe(true);
      const cert = decoded.items.filter((item) => item.key === 'client_cert.0');
      expect(cert).toHaveLength(1);
      expect(cert[0]!.bytes!.equals(Buffer.alloc(5000, 0x42 + round))).toBe(true);
      expect(decoded.pages.filter((page) => page.state === 'blank').length).toBeGreaterThanOrEqual(1);
    }
    store = MfgStore.decode(image)!;
    expect(store.set('client_cert', 'client_cert.1', 8, Buffer.alloc(20000))).toBe(true);
    expect(store.fits(0x5000)).toBe(false);
  });

  it('AT+SYSMFG-style erase: the entries are marked erased, a read-back shows them so', () => {
    const store = new MfgStore();
    store.set('ns', 'a', 7, Buffer.from('first'));
    store.set('ns', 'b', 1, Buffer.from([7]));
    const live = MfgStore.decode(store.encode(0x3000))!;
    expect(live.eraseKey('ns', 'a')).toBe(true);
    const decoded = decodeNvs(live.encode(0x3000));
    expect(decoded.items.map((item) => item.key)).toEqual(['b']);
    expect(decoded.erased).toMatchObject([{ key: 'a', type: 'string', span: 2 }]);
  });
});
