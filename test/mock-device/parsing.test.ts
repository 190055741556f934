import { describe, expect, it } from 'vitest';
import { AtArguments, splitArguments } from '../../mock-device/at-arguments.js';
import { parseCommandLine } from '../../mock-device/command-line.js';

const args = (text: string): AtArguments => new AtArguments(splitArguments(text)!);

describe('splitArguments / AtArguments', () => {
  it('splits at commas outside quotes, keeping escaped commas and quotes inside strings', () => {
    expect(splitArguments('1,"a,b",3')).toEqual(['1', '"a,b"', '3']);
    expect(splitArguments('"x\\",y",2')).toEqual(['"x\\",y"', '2']);
    expect(splitArguments('1,')).toEqual(['1', '']);
    expect(splitArguments('"open')).toBeNull();
  });

  it('decodes \\, \\" and \\\\ in strings', () => {
    expect(args('"a\\,b\\"c\\\\d"').string(0)).toEqual({ kind: 'ok', value: 'a,b"c\\d' });
    expect(args('"plain"').string(0)).toEqual({ kind: 'ok', value: 'plain' });
    expect(args('""').string(0)).toEqual({ kind: 'ok', value: '' });
  });

  it('treats unquoted or malformed strings as invalid and empty as omitted', () => {
    expect(args('abc').string(0).kind).toBe('invalid');
    expect(splitArguments('"a"b"')).toBeNull();
    expect(new AtArguments(['"a"b"']).string(0).kind).toBe('invalid');
    expect(args('"a"b').string(0).kind).toBe('invalid');
    expect(args('1,,3').string(1).kind).toBe('omitted');
    expect(args('1').string(5).kind).toBe('omitted');
  });

  it('parses decimal, negative and 0x/0X hex integers within int32', () => {
    expect(args('42').integer(0)).toEqual({ kind: 'ok', value: 42 });
    expect(args('-7').integer(0)).toEqual({ kind: 'ok', value: -7 });
    expect(args('0x1C000').integer(0)).toEqual({ kind: 'ok', value: 0x1c000 });
    expect(args('0XfF').integer(0)).toEqual({ kind: 'ok', value: 255 });
    expect(args('2147483647').integer(0)).toEqual({ kind: 'ok', value: 2147483647 });
    for (const bad of ['2147483648', '1.5', '+1', ' 1', '0x', '12ab', '"1"']) {
      expect(args(bad).integer(0).kind, bad).toBe('invalid');
    }
    expect(args('').integer(0).kind).toBe('omitted');
  });
});

describe('parseCommandLine', () => {
  it('recognises the four command forms', () => {
    expect(parseCommandLine('AT')).toEqual({ kind: 'command', name: '', form: 'execute', argumentText: '' });
    expect(parseCommandLine('ATE0')).toEqual({ kind: 'command', name: 'E0', form: 'execute', argumentText: '' });
    expect(parseCommandLine('AT+SYSFLASH?')).toEqual({ kind: 'command', name: '+SYSFLASH', form: 'query', argumentText: '' });
    expect(parseCommandLine('AT+SYSFLASH=?')).toEqual({ kind: 'command', name: '+SYSFLASH', form: 'test', argumentText: '' });
    expect(parseCommandLine('AT+SYSFLASH=2,"a?b",0,1')).toEqual({
      kind: 'command',
      name: '+SYSFLASH',
      form: 'set',
      argumentText: '2,"a?b",0,1',
    });
  });

  it('rejects lines without AT and junk after ?', () => {
    expect(parseCommandLine('at')).toEqual({ kind: 'no-at' });
    expect(parseCommandLine('AT+GMR?x')).toEqual({ kind: 'malformed' });
  });
});
