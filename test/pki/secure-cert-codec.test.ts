/** The TLV codec, the image walk and its stop rules, the checks of the decoder, the legacy layout, --append-integrity. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { detectFormat } from '../../src/pki/detect-format.js';
import { appendIntegrity } from '../../src/pki/secure-cert/append-integrity.js';
import { CUST_FLASH_SIZE, custFlashVariant, decodeCustFlash, encodeCustFlash } from '../../src/pki/secure-cert/cust-flash.js';
import { secureCertCrc } from '../../src/pki/secure-cert/crc.js';
import { inspectSecureCert } from '../../src/pki/secure-cert/inspect.js';
import { decodeTlvImage } from '../../src/pki/secure-cert/tlv-decode.js';
import { encodeTlvEntry, readTlvEntry, tlvEntrySize, tlvPaddingLength, TLV_MAX_VALUE_LENGTH } from '../../src/pki/secure-cert/tlv-entry.js';
import { encodeTlvImage, TLV_END_MARKER, TLV_PARTITION_SIZE, walkTlvImage } from '../../src/pki/secure-cert/tlv-image.js';
import { flagNames, privKeyTypeOfFlags, tlvTypeName, TlvType } from '../../src/pki/secure-cert/tlv-types.js';
import { fixture } from './paths.js';

const cert = Buffer.concat([fixture('device.crt'), Buffer.of(0)]);
const ca = Buffer.concat([fixture('ca.crt'), Buffer.of(0)]);
const key = Buffer.concat([fixture('device-sec1.key'), Buffer.of(0)]);
const ff = (length: number): Buffer => Buffer.alloc(length, 0xff);
const codes = (image: Uint8Array) => decodeTlvImage(image).problems.map((problem) => `${problem.severity} ${problem.code}`);

describe('TLV entries', () => {
  it.each([0, 1, 4, 15, 16, 17, 31, 32, 33])('pads a %i-byte value with zeros to a multiple of 16', (length) => {
    const value = Buffer.alloc(length, 0xab);
    const entry = encodeTlvEntry({ type: 51, value });
    expect(entry.length).toBe(tlvEntrySize(length));
    expect(entry.length % 16).toBe(0);
    expect(tlvPaddingLength(length)).toBe((16 - (length % 16)) % 16);
    expect(entry.subarray(12 + length, entry.length - 4).every((byte) => byte === 0)).toBe(true);
    expect(entry.readUInt32LE(entry.length - 4)).toBe(secureCertCrc(entry.subarray(0, entry.length - 4)));
  });

  it('lays out magic, flags, reserved, type, subtype, length little-endian', () => {
    const entry = encodeTlvEntry({ type: 2, subtype: 7, flags: 0x08, value: Buffer.alloc(0x123) });
    expect(entry.subarray(0, 12).toString('hex')).toBe('11ba5eba080000000207' + '2301');
  });

  it('reads back what it wrote, CRC checked', () => {
    const entry = encodeTlvEntry({ type: 53, subtype: 2, flags: 0xff, reserved: ff(3), value: Buffer.from('hello') });
    const read = readTlvEntry(entry, 0);
    expect(read).toMatchObject({ kind: 'entry', entry: { type: 53, subtype: 2, flags: 0xff, length: 5, padding: 11, crcOk: true, size: 32 } });
    if (read.kind === 'entry') expect(read.entry.value.toString()).toBe('hello');
  });

  it('notices a changed byte anywhere in the entry', () => {
    const entry = encodeTlvEntry({ type: 0, value: cert });
    for (const at of [4, 8, 9, 12, 12 + cert.length, entry.length - 1]) {
      const copy = Buffer.from(entry);
      copy[at]! ^= 0x01;
      const read = readTlvEntry(copy, 0);
      // A changed length makes another entry size (and may cut the entry off): never a good CRC.
      expect(read.kind === 'entry' && read.entry.crcOk).toBe(false);
    }
  });

  it('refuses a value over 65,535 bytes and header fields that are not bytes', () => {
    expect(() => encodeTlvEntry({ type: 51, value: Buffer.alloc(TLV_MAX_VALUE_LENGTH + 1) })).toThrow(InputError);
    expect(() => encodeTlvEntry({ type: 256, value: Buffer.alloc(1) })).toThrow(RangeError);
    expect(() => encodeTlvEntry({ type: 1, subtype: -1, value: Buffer.alloc(1) })).toThrow(RangeError);
  });

  it('names types, user data included', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 51, 55, 201, 42].map(tlvTypeName)).toEqual([
      'CA_CERT', 'DEV_CERT', 'PRIV_KEY', 'DS_DATA', 'DS_CONTEXT', 'HMAC_ECDSA_KEY_SALT', 'SEC_CFG', 'TEE_SEC_STORAGE_KEY', 'SIGNATURE_BLOCK', 'INTEGRITY', 'USER_DATA_1', 'USER_DATA_5', 'MATTER_TLV_1', 'TYPE_42',
    ]);
  });

  it('reads the key type from the flags in the firmware order; legacy 0xFF flags mean none', () => {
    expect([0x00, 0x80, 0x40, 0x08, 0x48, 0x88, 0xc0, 0xff, 0x38].map(privKeyTypeOfFlags)).toEqual([
      'DEFAULT', 'HMAC_ENCRYPTED', 'HMAC_DERIVED_ECDSA', 'ECDSA_PERIPHERAL', 'HMAC_DERIVED_ECDSA', 'ECDSA_PERIPHERAL', 'DEFAULT', 'DEFAULT', 'DEFAULT',
    ]);
    expect(flagNames(0x88)).toEqual(['HMAC_ENCRYPTED', 'ECDSA_PERIPHERAL']);
    expect(flagNames(0xff)).toEqual([]);
  });
});

describe('TLV images', () => {
  const image = encodeTlvImage([
    { type: TlvType.CA_CERT, value: ca },
    { type: TlvType.DEV_CERT, value: cert },
    { type: TlvType.USER_DATA_2, subtype: 3, value: Buffer.from('serial=42') },
  ]);

  it('puts entries back to back and INTEGRITY/0 (SHA-256 of the rest) last', () => {
    const { entries } = walkTlvImage(image);
    expect(entries.map((entry) => [entry.type, entry.subtype])).toEqual([[0, 0], [1, 0], [52, 3], [9, 0]]);
    expect(entries[1]!.offset).toBe(entries[0]!.size);
    const integrity = entries[3]!;
    expect(integrity.value.equals(createHash('sha256').update(image.subarray(0, integrity.offset)).digest())).toBe(true);
    expect(integrity.offset + integrity.size).toBe(image.length);
  });

  it('leaves INTEGRITY out on request', () => {
    expect(walkTlvImage(encodeTlvImage([{ type: 51, value: Buffer.of(1) }], { integrity: false })).entries).toHaveLength(1);
  });

  it('refuses a repeated (type, subtype) and an image larger than the partition', () => {
    expect(() => encodeTlvImage([{ type: 1, value: cert }, { type: 1, value: cert }])).toThrow(/DEV_CERT\/0 is given twice/);
    expect(() => encodeTlvImage([{ type: 9, value: Buffer.alloc(32) }])).toThrow(/INTEGRITY\/0 is given twice/);
    expect(() => encodeTlvImage([{ type: 51, value: Buffer.alloc(TLV_PARTITION_SIZE) }])).toThrow(/more than the 8192 bytes/);
  });

  it.each<[string, Buffer, string, number]>([
    ['the end of the file', image, 'eof', 0],
    ['erased flash', Buffer.concat([image, ff(8192 - image.length)]), 'erased', 8192 - image.length],
    ['the end marker', Buffer.concat([image, TLV_END_MARKER]), 'end-marker', 4],
    ['the end marker and erased flash', Buffer.concat([image, TLV_END_MARKER, ff(12)]), 'end-marker', 16],
    ['a partial word', Buffer.concat([image, ff(3)]), 'erased', 3],
  ])('stops at %s', (_name, bytes, termination, trailing) => {
    const decoded = decodeTlvImage(bytes);
    expect(decoded).toMatchObject({ termination, trailingBytes: trailing, end: image.length, listedEntries: 4 });
    expect(decoded.problems).toEqual([]);
    expect(decoded.integrity.status).toBe('ok');
  });

  it('warns about other data after the last entry, which the reader ignores', () => {
    const decoded = decodeTlvImage(Buffer.concat([image, Buffer.from('garbage!')]));
    expect(decoded.termination).toBe('other-data');
    expect(decoded.problems).toEqual([expect.objectContaining({ severity: 'warning', code: 'TRAILING_DATA', offset: image.length })]);
  });

  it('calls entries behind a non-entry unreachable (an error)', () => {
    const second = encodeTlvEntry({ type: 51, value: Buffer.of(1) });
    const bytes = Buffer.concat([image, Buffer.alloc(16), second]);
    expect(codes(bytes)).toEqual(['error UNREACHABLE_DATA']);
    expect(decodeTlvImage(bytes).entries).toHaveLength(4);
  });

  it('finds entries only at 16-byte boundaries', () => {
    const bytes = Buffer.concat([image, Buffer.alloc(4), encodeTlvEntry({ type: 51, value: Buffer.of(1) })]);
    expect(decodeTlvImage(bytes).entries).toHaveLength(4);
  });

  it('reports a cut-off entry, and keeps the entries before it', () => {
    const bytes = image.subarray(0, image.length - 20);
    const decoded = decodeTlvImage(bytes);
    expect(decoded.termination).toBe('truncated');
    expect(decoded.entries).toHaveLength(3);
    expect(decoded.problems).toEqual([expect.objectContaining({ code: 'TRUNCATED', message: expect.stringMatching(/^INTEGRITY\/0 \(32-byte value\) at 0x[0-9a-f]{4} needs 48 bytes but the file ends 28 bytes after it/) })]);
    expect(codes(image.subarray(0, 8))).toEqual(['error TRUNCATED']);
  });

  it('reports a bad CRC, the entries it hides from listing, and the broken INTEGRITY hash', () => {
    const bytes = Buffer.from(image);
    bytes[100]! ^= 0x20; // inside the CA certificate's base64
    const decoded = decodeTlvImage(bytes);
    expect(decoded.listedEntries).toBe(0);
    expect(decoded.integrity.status).toBe('mismatch');
    const crc = decoded.problems.find((problem) => problem.code === 'CRC_MISMATCH')!;
    expect(crc.message).toMatch(/^CA_CERT\/0 at 0x0000: CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): the firmware refuses this entry; the firmware's entry listing stops here and does not show the 3 entries after it$/);
    expect(codes(bytes)).toContain('error INTEGRITY_MISMATCH');
  });

  it('reports a re-computed CRC over changed bytes through INTEGRITY', () => {
    const entries = walkTlvImage(image).entries;
    const changed = Buffer.from(image);
    changed.set(encodeTlvEntry({ type: 52, subtype: 3, value: Buffer.from('serial=43') }), entries[2]!.offset);
    expect(codes(changed)).toEqual(['error INTEGRITY_MISMATCH']);
    expect(inspectSecureCert(changed).reader.integrity).toBe('mismatch');
  });

  it('warns about duplicates, unknown types, old-tool headers and entries after INTEGRITY', () => {
    const bytes = Buffer.concat([
      encodeTlvImage([{ type: 1, value: cert }, { type: 42, value: Buffer.of(1) }, { type: 0, flags: 0xff, reserved: ff(3), value: ca }]),
      encodeTlvEntry({ type: 1, value: cert }),
    ]);
    expect(codes(bytes)).toEqual(['warning UNKNOWN_TYPE', 'warning DUPLICATE_ENTRY', 'warning LEGACY_HEADER', 'warning NOT_COVERED']);
    expect(inspectSecureCert(bytes).reader.deviceCert?.where).toBe('DEV_CERT/0 at 0x0000');
  });

  it('checks values: certificates, PEM NUL, keys, DS data, SEC_CFG, INTEGRITY length', () => {
    const bad = (type: number, value: Buffer, flags = 0) => decodeTlvImage(encodeTlvEntry({ type, flags, value })).problems.map((problem) => problem.message);
    expect(bad(TlvType.DEV_CERT, key)).toEqual([expect.stringMatching(/^DEV_CERT\/0 at 0x0000: not a certificate: a private key$/)]);
    expect(bad(TlvType.CA_CERT, fixture('ca.crt'))).toEqual([expect.stringContaining('PEM text without the trailing NUL byte')]);
    expect(bad(TlvType.CA_CERT, fixture('device.crt.der'))).toEqual([]);
    expect(bad(TlvType.PRIV_KEY, Buffer.concat([fixture('device-encrypted.key'), Buffer.of(0)]))).toEqual([expect.stringContaining('password-encrypted private key')]);
    expect(bad(TlvType.PRIV_KEY, Buffer.alloc(0))).toEqual([expect.stringContaining('an empty private key')]);
    expect(bad(TlvType.PRIV_KEY, Buffer.alloc(0), 0x08)).toEqual([expect.stringContaining('no SEC_CFG/0')]);
    expect(bad(TlvType.PRIV_KEY, Buffer.alloc(0), 0x40)).toEqual([expect.stringContaining('no HMAC_ECDSA_KEY_SALT/0')]);
    expect(bad(TlvType.PRIV_KEY, Buffer.alloc(10), 0x80)).toEqual([expect.stringContaining('shorter than the 16-byte AES-GCM tag')]);
    expect(bad(TlvType.SEC_CFG, Buffer.concat([Buffer.of(3), Buffer.alloc(39)]))).toEqual([expect.stringContaining('eFuse block 3 is not a key block')]);
    expect(bad(TlvType.INTEGRITY, Buffer.alloc(31))).toEqual([expect.stringContaining('31 bytes; an INTEGRITY value is a 32-byte SHA-256')]);
  });

  it('reads the DS key and its context, and checks they agree', () => {
    const dsData = (bits: number, cLength = 1200) => Buffer.concat([int32(bits / 32 - 1), Buffer.alloc(16, 0xaa), Buffer.alloc(cLength, 0x55)]);
    const dsContext = (keyId: number, bits: number) => Buffer.from([0, 0, 0, 0, keyId, 0, bits & 0xff, bits >> 8]);
    const good = encodeTlvImage([{ type: 3, value: dsData(2048) }, { type: 4, value: dsContext(2, 2048) }]);
    const inspection = inspectSecureCert(good);
    expect(inspection.image.problems).toEqual([]);
    expect(inspection.reader.dsContext).toMatchObject({ efuseKeyId: 2, rsaLengthBits: 2048, ciphertextLength: 1200, iv: 'aa'.repeat(16) });
    expect(inspection.reader.privateKey).toBeUndefined();

    expect(codes(encodeTlvImage([{ type: 3, value: dsData(2048) }, { type: 4, value: dsContext(2, 3072) }]))).toEqual(['error INCONSISTENT']);
    expect(codes(encodeTlvImage([{ type: 3, value: dsData(2048) }]))).toEqual(['error INCONSISTENT']);
    expect(codes(encodeTlvImage([{ type: 3, value: dsData(4096) }, { type: 4, value: dsContext(2, 4096) }]))).toEqual(['error BAD_VALUE']);
    expect(codes(encodeTlvImage([{ type: 3, value: dsData(4096, 1584) }, { type: 4, value: dsContext(6, 4096) }]))).toEqual(['error BAD_VALUE']);
    expect(codes(encodeTlvImage([{ type: 3, value: dsData(2048) }, { type: 4, value: Buffer.alloc(12) }]))).toEqual(['error BAD_VALUE']);
  });

  it('shows user data as text when it is printable, as hex otherwise', () => {
    const decoded = decodeTlvImage(encodeTlvImage([{ type: 51, value: Buffer.from('hello') }, { type: 55, value: Buffer.of(0, 1, 0xfe) }], { integrity: false }));
    expect(decoded.entries.map(({ info }) => info)).toEqual([
      { kind: 'user-data', text: 'hello', hex: '68656c6c6f', previewTruncated: false },
      { kind: 'user-data', hex: '0001fe', previewTruncated: false },
    ]);
  });

  it('looks up subtype 0, the first of a type, and refuses it on a bad CRC without falling back', () => {
    const bytes = Buffer.concat([encodeTlvEntry({ type: 1, subtype: 1, value: cert }), encodeTlvEntry({ type: 1, value: cert }), encodeTlvEntry({ type: 1, value: cert })]);
    const at = walkTlvImage(bytes).entries[1]!.offset;
    bytes[at + 40]! ^= 1;
    expect(inspectSecureCert(bytes).reader.deviceCert).toEqual({ where: `DEV_CERT/0 at 0x${at.toString(16).padStart(4, '0')}`, offset: at, crcOk: false });
  });
});

describe('the legacy cust_flash layout', () => {
  const image = encodeCustFlash({ deviceCert: cert, caCert: ca, privateKey: key });

  it('puts the items at their fixed offsets with CRCs, lengths and the magic in the metadata', () => {
    expect(image.length).toBe(CUST_FLASH_SIZE);
    expect(image.subarray(0x40, 0x40 + cert.length).equals(cert)).toBe(true);
    expect(image.subarray(0x840, 0x840 + ca.length).equals(ca)).toBe(true);
    expect(image.subarray(0x1840, 0x1840 + key.length).equals(key)).toBe(true);
    expect([image.readUInt32LE(0), image.readUInt16LE(4), image.readUInt16LE(12), image.readUInt16LE(20), image.readUInt32LE(24)]).toEqual([secureCertCrc(cert), cert.length, ca.length, key.length, 0x12345678]);
    expect(image.subarray(28, 64).every((byte) => byte === 0)).toBe(true);
    expect(custFlashVariant(image)).toBe('plaintext');
    expect(detectFormat(image).format).toBe('esp-secure-cert-cust-flash');
  });

  it('decodes what it wrote; an absent CA is length 0 and CRC 0', () => {
    expect(decodeCustFlash(image).problems).toEqual([]);
    const noCa = decodeCustFlash(encodeCustFlash({ deviceCert: cert, privateKey: key }));
    expect(noCa.problems).toEqual([]);
    expect(noCa.items.find((item) => item.name === 'ca_cert')).toMatchObject({ absent: true, length: 0, crc: 0 });
  });

  it('refuses an item larger than its region', () => {
    expect(() => encodeCustFlash({ deviceCert: Buffer.alloc(2049), privateKey: key })).toThrow(/dev_cert is 2049 bytes; the cust_flash layout holds at most 2048/);
  });

  it('reports a changed byte as a CRC mismatch, lengths that overflow, a missing magic', () => {
    const changed = Buffer.from(image);
    changed[0x1850]! ^= 1;
    expect(decodeCustFlash(changed).problems.map((problem) => problem.message)).toContainEqual(expect.stringMatching(/^priv_key at 0x1840: CRC mismatch .*tampered/));
    const long = Buffer.from(image);
    long.writeUInt16LE(3000, 4);
    expect(decodeCustFlash(long).problems).toContainEqual(expect.objectContaining({ code: 'BAD_METADATA', message: expect.stringContaining('more than its 2048-byte region') }));
    expect(decodeCustFlash(image.subarray(0, 0x900)).problems).toContainEqual(expect.objectContaining({ code: 'TRUNCATED' }));
    const noMagic = Buffer.from(image);
    noMagic.writeUInt32LE(0, 24);
    expect(decodeCustFlash(noMagic).problems).toEqual([expect.objectContaining({ code: 'BAD_METADATA' })]);
  });

  it('reads the DS variant: ciphertext, IV after it, key size and eFuse key id', () => {
    const ds = Buffer.alloc(CUST_FLASH_SIZE, 0xff);
    ds.fill(0, 0, 64);
    const c = Buffer.alloc(1200, 0x5a);
    const iv = Buffer.alloc(16, 0xa5);
    ds.set(cert, 0x40);
    ds.set(c, 0x1840);
    ds.set(iv, 0x1840 + 1200 + 16);
    ds.writeUInt32LE(secureCertCrc(cert), 0);
    ds.writeUInt16LE(cert.length, 4);
    ds.writeUInt32LE(secureCertCrc(c), 16);
    ds.writeUInt16LE(c.length, 20);
    ds.writeUInt32LE(secureCertCrc(iv), 24);
    ds.writeUInt16LE(16, 28);
    ds.writeUInt16LE(2048, 30);
    ds[32] = 3;
    ds.writeUInt32LE(0x12345678, 36);
    expect(custFlashVariant(ds)).toBe('ds');
    const inspection = inspectSecureCert(ds);
    expect(inspection.image.problems).toEqual([]);
    expect(inspection.reader.dsContext).toMatchObject({ efuseKeyId: 3, rsaLengthBits: 2048, ciphertextLength: 1200, iv: 'a5'.repeat(16) });
  });
});

describe('--append-integrity', () => {
  const image = encodeTlvImage([{ type: 1, value: cert }]);

  it('appends INTEGRITY/<highest + 1> over the whole image and the end marker', () => {
    const once = appendIntegrity(image);
    expect(once).toMatchObject({ subtype: 1, offset: image.length });
    expect(once.image.subarray(-4).equals(Buffer.from(TLV_END_MARKER))).toBe(true);
    expect(decodeTlvImage(once.image)).toMatchObject({ problems: [], termination: 'end-marker', integrity: { status: 'ok', subtype: 1 } });
    expect(appendIntegrity(encodeTlvImage([{ type: 1, value: cert }], { integrity: false })).subtype).toBe(0);
  });

  it('refuses an image with trailing bytes, a damaged image, and subtypes past 16', () => {
    expect(() => appendIntegrity(appendIntegrity(image).image)).toThrow(/goes on for 4 bytes after its last entry \(an end marker\)/);
    expect(() => appendIntegrity(Buffer.concat([image, ff(64)]))).toThrow(/erased flash/);
    const damaged = Buffer.from(image);
    damaged[40]! ^= 1;
    expect(() => appendIntegrity(damaged)).toThrow(/damaged image: DEV_CERT\/0 at 0x0000: CRC mismatch/);
    const full = encodeTlvImage([{ type: 9, subtype: 16, value: Buffer.alloc(32) }], { integrity: false });
    expect(() => appendIntegrity(full)).toThrow(/damaged/); // its hash is wrong, first
    const last = encodeTlvEntry({ type: 9, subtype: 16, value: createHash('sha256').digest() });
    expect(decodeTlvImage(last).problems).toEqual([]);
    expect(() => appendIntegrity(last)).toThrow(/already has INTEGRITY\/16; subtypes stop at 16/);
  });
});

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
}
