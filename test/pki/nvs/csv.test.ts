/** The generator's CSV: parsing, value conversions, and errors that name the line. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { parseNvsCsv } from '../../../src/pki/nvs/csv.js';
import { buildNvsFromCsv, csvFilePaths } from '../../../src/pki/nvs/csv-image.js';
import { decodeNvs } from '../../../src/pki/nvs/decoder.js';

function build(text: string, files = new Map<string, Buffer>()) {
  const built = buildNvsFromCsv(parseNvsCsv(text), { size: 0x3000, files });
  return { ...built, decoded: decodeNvs(built.image) };
}

function errorOf(text: string, files = new Map<string, Buffer>()): InputError {
  try {
    build(text, files);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('no error');
}

describe('parseNvsCsv', () => {
  it('header by name, comments, blank lines, quoted fields with commas, quotes and line breaks', () => {
    const rows = parseNvsCsv('# comment\nkey,type,encoding,value\n\nns,namespace,,\n# another\nk,data,string,"a, ""b""\nc"\n');
    expect(rows).toEqual([
      { line: 4, key: 'ns', type: 'namespace', encoding: '', value: '' },
      { line: 6, key: 'k', type: 'data', encoding: 'string', value: 'a, "b"\nc' },
    ]);
    expect(parseNvsCsv('value,key,encoding,type\n7,k,u8,data\n')).toEqual([{ line: 2, key: 'k', type: 'data', encoding: 'u8', value: '7' }]);
  });

  it('a missing header column, an unterminated quote', () => {
    expect(() => parseNvsCsv('key,type,value\n')).toThrow('CSV line 1: the header names no encoding column (expected key,type,encoding,value)');
    expect(() => parseNvsCsv('key,type,encoding,value\nk,data,string,"open\n')).toThrow(/line 2: unterminated quoted field/);
  });

  it('lists the files file rows name', () => {
    expect(csvFilePaths(parseNvsCsv('key,type,encoding,value\nn,namespace,,\na,file,binary,x.bin\nb,file,string,x.bin\nc,file,hex2bin,y.txt\n'))).toEqual(['x.bin', 'y.txt']);
  });
});

describe('buildNvsFromCsv', () => {
  it('converts values as the generator does', () => {
    const { decoded } = build(
      [
        'key,type,encoding,value',
        'ns,namespace,,',
        'a,data,u8, +1_0 ',
        'b,data,i64,-9223372036854775808',
        'c,data,hex2bin, 00ff ',
        'd,data,base64,"YW Jj\nZA=="',
        'e,data,binary,raw text',
        'f,data,blob_fill(6;0xAA),hi',
        'g,data,blob_sz_fill(4;0x00),ab',
        'h,data,string,',
        'i,file,string,t.txt',
        'j,file,u16,n.txt',
      ].join('\n'),
      new Map([
        ['t.txt', Buffer.from('héllo')],
        ['n.txt', Buffer.from('513\n')],
      ]),
    );
    const by = Object.fromEntries(decoded.items.map((item) => [item.key, item]));
    expect(by.a!.value).toBe(10n);
    expect(by.b!.value).toBe(-9223372036854775808n);
    expect(by.c!.bytes!.toString('hex')).toBe('00ff');
    expect(by.d!.bytes!.toString()).toBe('abcd');
    expect(by.e!.bytes!.toString()).toBe('raw text');
    expect(by.f!.bytes!.toString('hex')).toBe('6869aaaaaaaa');
    expect(by.g!.bytes!.toString('hex')).toBe('020000006162' + '0000');
    expect(by.h).toMatchObject({ type: 'string', size: 1 });
    expect(by.i!.bytes!.toString('utf8')).toBe('héllo');
    expect(by.i!.size).toBe(7); // UTF-8 bytes + NUL
    expect(by.j).toMatchObject({ type: 'u16', value: 513n });
  });

  it('Wi-Fi keys get the generator\'s extra entries', () => {
    const { decoded, notes } = build('key,type,encoding,value\nnvs.net80211,namespace,,\nsta.ssid,data,string,net\nsta.pswd,data,string,secret\n');
    expect(decoded.items.map((item) => item.key)).toEqual(['sta.ssid', 'sta.apinfo', 'sta.pmk', 'sta.apsw', 'sta.pswd']);
    expect(decoded.items[1]!.bytes!.equals(Buffer.alloc(140, 0xff))).toBe(true);
    expect(notes).toHaveLength(1);
  });

  it('errors name the line', () => {
    const head = 'key,type,encoding,value\nns,namespace,,\n';
    expect(errorOf(`${head}k,data,u8,256\n`).message).toBe('CSV line 3: 256 does not fit in u8 (0 … 255)');
    expect(errorOf(`${head}k,data,u8,0x10\n`).message).toBe('CSV line 3: "0x10" is not a decimal integer');
    expect(errorOf(`${head}\nk,data,hex2bin,abc\n`).message).toBe('CSV line 4: hex2bin: 3 hex digits, not a multiple of 2');
    expect(errorOf(`${head}k,data,float,1\n`).message).toMatch(/^CSV line 3: unknown encoding "float"/);
    expect(errorOf(`${head}k,blob,binary,1\n`).message).toBe('CSV line 3: type "blob" is none of namespace, data, file');
    expect(errorOf(`${head}a_key_too_long_x,data,u8,1\n`).message).toBe('CSV line 3: key "a_key_too_long_x" is longer than 15 characters');
    expect(errorOf(`${head}k,data,base64,QQ\n`).message).toBe('CSV line 3: base64: incorrect padding');
    expect(errorOf(`${head}k,file,string,bad.bin\n`, new Map([['bad.bin', Buffer.from([0xff, 0xfe])]])).message).toMatch(/^CSV line 3: bad.bin is not UTF-8 text/);
    expect(errorOf('key,type,encoding,value\nk,data,u8,1\n').message).toBe('CSV line 2: key "k" comes before any namespace');
    const back = errorOf(`${head}k,data,u8,1\nother,namespace,,\nx,data,u8,1\nns,namespace,,\n`);
    expect(back.message).toMatch(/^CSV line 6: namespace ns again after other/);
    expect(back.details.line).toBe(6);
  });
});
