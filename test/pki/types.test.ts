import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { detectFormat } from '../../src/pki/detect-format.js';
import { encodePkiBin } from '../../src/pki/bin-format.js';
import { describeItem, parsePkiType, perTypeIndexes, pkiTypeOfPartition } from '../../src/pki/types.js';

describe('type names', () => {
  it('parses the AtPKI.py type names', () => {
    expect(['ca', 'cert', 'key'].map(parsePkiType)).toEqual(['ca', 'cert', 'key']);
  });

  it.each(['CA', 'crt', 'client_cert', ''])('refuses %j', (name) => {
    expect(() => parsePkiType(name)).toThrow(InputError);
    expect(() => parsePkiType(name)).toThrow(/expected ca, cert or key/);
  });

  it('maps partition names by suffix', () => {
    expect(['client_ca', 'client_cert', 'mqtt_key', 'wpa2_cert'].map(pkiTypeOfPartition)).toEqual(['ca', 'cert', 'key', 'cert']);
    expect(['factory_param', 'ble_data', '_cert', 'client_certs'].map(pkiTypeOfPartition)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('numbers items per type in input order', () => {
    expect(perTypeIndexes([{ type: 'cert' }, { type: 'key' }, { type: 'cert' }, { type: 'ca' }, { type: 'key' }])).toEqual([0, 0, 1, 0, 1]);
  });

  it('describes items for messages', () => {
    expect(describeItem({ type: 'key', index: 2 })).toBe('key #2');
    expect(describeItem({ type: 'ca', index: 0, source: 'root.pem' })).toBe('ca #0 (root.pem)');
  });
});

describe('detectFormat', () => {
  it.each<[string, Uint8Array, string]>([
    ['a PKI bin', encodePkiBin([{ type: 'cert', content: Buffer.from('x') }]), 'atpki'],
    ['erased flash', Buffer.alloc(4096, 0xff), 'erased'],
    ['nothing', Buffer.alloc(0), 'empty'],
    ['anything else', Buffer.from('-----BEGIN CERTIFICATE-----'), 'unknown'],
  ])('recognises %s', (_name, bytes, format) => {
    expect(detectFormat(bytes).format).toBe(format);
  });
});
