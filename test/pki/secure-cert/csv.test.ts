/** configure_esp_secure_cert.py's CSV: parsing (types, subtypes, data types, errors naming the line) and the image it makes. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { buildSecureCertFromCsv } from '../../../src/pki/secure-cert/csv-build.js';
import { parseSecureCertCsv, secureCertCsvFilePaths } from '../../../src/pki/secure-cert/csv.js';
import { decodeTlvImage } from '../../../src/pki/secure-cert/tlv-decode.js';
import { encodeTlvEntry } from '../../../src/pki/secure-cert/tlv-entry.js';
import { TlvType } from '../../../src/pki/secure-cert/tlv-types.js';
import { fixture } from '../paths.js';

const HEADER = 'tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,key_size,efuse_id,efuse_key\n';
const parse = (body: string) => parseSecureCertCsv(HEADER + body, 'in.csv');

describe('parseSecureCertCsv', () => {
  it('reads every type by name or number, subtypes, all data types, rows in file order, short rows too', () => {
    const rows = parse(
      [
        'ESP_SECURE_CERT_CA_CERT_TLV,0,ca.pem,file,,,,,',
        '# a comment',
        '',
        '0,1,"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",string,,,,,',
        'ESP_SECURE_CERT_DEV_CERT_TLV,2,dev.pem,file,,,,,',
        '2,2,key.pem,file,plaintext,RSA,2048,,',
        'ESP_SECURE_CERT_USER_DATA_1_TLV,0,"Device Model: ESP32, rev ""3""",string,,,,',
        'ESP_SECURE_CERT_USER_DATA_2_TLV,3,0102,hex,,,,',
        '53,254,aGVsbG8=,base64',
        'esp_secure_cert_user_data_4_tlv,7,blob.bin,FILE,,,,,',
        '55,0,,string,,,,,',
      ].join('\n'),
    );
    expect(rows.map(({ line, type, subtype, dataType }) => [line, type, subtype, dataType])).toEqual([
      [2, 0, 0, 'file'],
      [5, 0, 1, 'string'],
      [8, 1, 2, 'file'],
      [9, 2, 2, 'file'],
      [10, 51, 0, 'string'],
      [11, 52, 3, 'hex'],
      [12, 53, 254, 'base64'],
      [13, 54, 7, 'file'],
      [14, 55, 0, 'string'],
    ]);
    expect(rows[1]!.value).toBe('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    expect(rows[4]!.value).toBe('Device Model: ESP32, rev "3"');
    expect(secureCertCsvFilePaths(rows)).toEqual(['ca.pem', 'dev.pem', 'key.pem', 'blob.bin']);
  });

  it('takes a file without the header line', () => {
    expect(parseSecureCertCsv('51,0,abc,string\n', 'in.csv')).toEqual([{ line: 1, type: 51, subtype: 0, dataType: 'string', value: 'abc' }]);
  });

  it.each([
    ['FOO,0,x,string', /^in\.csv line 2: bad tlv_type 'FOO': give ESP_SECURE_CERT_CA_CERT_TLV, .* or its number/],
    ['3,0,x,hex', /^in\.csv line 2: bad tlv_type '3'/],
    ['9,0,x,hex', /^in\.csv line 2: INTEGRITY \(9\) is not given in a CSV: at-pki appends INTEGRITY\/0 itself$/],
    ['51,255,x,string', /^in\.csv line 2: bad tlv_subtype '255': give an integer from 0 to 254$/],
    ['51,-1,x,string', /^in\.csv line 2: bad tlv_subtype '-1'/],
    ['51,0,x,text', /^in\.csv line 2: bad data_type 'text': give file, string, hex or base64$/],
    ['51,0,x', /^in\.csv line 2: expected tlv_type,tlv_subtype,data_value,data_type/],
    ['0,0,00ff,hex', /^in\.csv line 2: CA_CERT\/0 takes data_type file or string, not hex$/],
    ['2,0,a2V5,base64,plaintext', /^in\.csv line 2: PRIV_KEY\/0 takes data_type file or string, not base64$/],
    ['2,0,key.pem,file,sealed', /^in\.csv line 2: bad priv_key_type 'sealed'/],
    ['51,0,x,string,rsa_ds', /^in\.csv line 2: priv_key_type rsa_ds is for ESP_SECURE_CERT_PRIV_KEY_TLV rows$/],
    ['2,0,key.pem,file,rsa_ds,RSA,2048,1,', /^in\.csv line 2: ds-peripheral keys cannot be provisioned by at-pki: the DS peripheral needs its HMAC key burned/],
    ['2,0,key.pem,file,ecdsa_peripheral,ECDSA,256,1,k', /^in\.csv line 2: ecdsa-peripheral keys cannot be provisioned by at-pki: the ECDSA peripheral needs/],
    ['51,0,,file', /^in\.csv line 2: data_type file needs a path in data_value$/],
    ['51,1,a,string\n52,0,b,string\nESP_SECURE_CERT_USER_DATA_1_TLV,1,c,string', /^in\.csv line 4: USER_DATA_1\/1 is given twice \(also on line 2\)/],
    ['51,0,"open,string', /^in\.csv line 2: unterminated quoted field$/],
  ])('refuses %j naming the line', (body, message) => {
    expect(() => parse(body)).toThrow(InputError);
    expect(() => parse(body)).toThrow(message);
  });

  it('refuses a file without rows', () => {
    expect(() => parseSecureCertCsv(HEADER, 'in.csv')).toThrow(/^in\.csv: no rows/);
  });
});

describe('buildSecureCertFromCsv', () => {
  it('reproduces the worked example entry: USER_DATA_2 subtype 3 = 01 02, CRC 0x6F9E624E', () => {
    const built = buildSecureCertFromCsv(parse('ESP_SECURE_CERT_USER_DATA_2_TLV,3,0102,hex,,,,,'), new Map());
    const expected = Buffer.from('11ba5eba0000000034030200010200000000000000000000000000004e629e6f', 'hex');
    expect(built.image.subarray(0, 32).equals(expected)).toBe(true);
    expect(encodeTlvEntry({ type: TlvType.USER_DATA_2, subtype: 3, value: Buffer.of(1, 2) }).equals(expected)).toBe(true);
    expect(built.items.map((item) => item.name)).toEqual(['USER_DATA_2/3', 'INTEGRITY/0']);
  });

  it('stores entries in row order: certificates and keys as from files, USER_DATA as raw bytes', () => {
    const oneLineCa = fixture('ca.crt').toString().replace(/\n/g, '');
    const rows = parse(
      [
        '55,4,3q2+7w==,base64',
        `0,1,"${oneLineCa}",string`,
        '0,0,ca.pem,file',
        '1,0,dev.pem,file',
        '2,0,key.pem,file,plaintext,ECDSA,256,,',
        '51,0,héllo,string',
        '52,0,DE AD be ef,hex',
        '54,9,blob.bin,file',
      ].join('\n'),
    );
    const files = new Map([
      ['ca.pem', fixture('ca.crt')],
      ['dev.pem', fixture('device.crt')],
      ['key.pem', fixture('device.key')],
      ['blob.bin', Buffer.of(0, 1, 2, 0xff)],
    ]);
    const built = buildSecureCertFromCsv(rows, files, 'in.csv');
    const decoded = decodeTlvImage(built.image);
    expect(decoded.problems).toEqual([]);
    const pem = (name: string) => Buffer.concat([fixture(name), Buffer.of(0)]);
    expect(decoded.entries.map(({ entry }) => [entry.type, entry.subtype, entry.flags, entry.value.toString('hex')])).toEqual([
      [55, 4, 0, 'deadbeef'],
      [0, 1, 0, pem('ca.crt').toString('hex')],
      [0, 0, 0, pem('ca.crt').toString('hex')],
      [1, 0, 0, pem('device.crt').toString('hex')],
      [2, 0, 0, pem('device-sec1.key').toString('hex')],
      [51, 0, 0, Buffer.from('héllo', 'utf8').toString('hex')],
      [52, 0, 0, 'deadbeef'],
      [54, 9, 0, '000102ff'],
      [9, 0, 0, expect.any(String)],
    ]);
    expect(built.items[0]).toMatchObject({ name: 'USER_DATA_5/4', stored: '4 bytes (base64)', source: 'line 2' });
    expect(built.items[7]).toMatchObject({ name: 'USER_DATA_4/9', stored: '4 bytes (file)', source: 'blob.bin' });
    expect(built.items[4]).toMatchObject({ name: 'PRIV_KEY/0', stored: 'SEC1 PEM private key (from PKCS#8)', source: 'key.pem' });
  });

  it('reads \\n escapes in a certificate string', () => {
    const escaped = fixture('device.crt').toString().replace(/\n/g, '\\n');
    const built = buildSecureCertFromCsv(parse(`1,0,"${escaped}",string`), new Map());
    expect(decodeTlvImage(built.image).entries[0]!.entry.value.equals(Buffer.concat([fixture('device.crt'), Buffer.of(0)]))).toBe(true);
  });

  it.each([
    ['52,0,abc,hex', /^in\.csv line 2: bad hex data_value: give pairs of hex digits \(odd count\)$/],
    ['52,0,zz,hex', /^in\.csv line 2: bad hex data_value: give pairs of hex digits \(not a hex digit\)$/],
    ['52,0,a*b=,base64', /^in\.csv line 2: bad base64 data_value$/],
    ['1,0,not a certificate,string', /^in\.csv line 2: expected a certificate, found/],
    ['2,0,dev.pem,file', /^in\.csv line 2 \(dev\.pem\): expected a private key, found a certificate$/],
  ])('refuses %j naming the line', (body, message) => {
    const files = new Map([['dev.pem', fixture('device.crt')]]);
    expect(() => buildSecureCertFromCsv(parse(body), files, 'in.csv')).toThrow(message);
  });
});
