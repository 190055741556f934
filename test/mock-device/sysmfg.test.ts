import { describe, expect, it } from 'vitest';
import { bootedEmulator, bytes, quietEmulator } from './wire.js';
import type { EspAtEmulatorOptions } from '../../mock-device/emulator-options.js';

const OK = '\r\nOK\r\n';
const ERROR = '\r\nERROR\r\n';
const PROMPT = '\r\nOK\r\n\r\n>';
const BUSY = '\r\nbusy p...\r\n';

/** A v3.2 ESP32-C3 with an empty mfg_nvs, echo off. */
function v3(options: EspAtEmulatorOptions = {}, syslog = false) {
  return quietEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty', ...options }, syslog);
}

describe('AT+SYSMFG: listing (§3.2 rows 1–2)', () => {
  it('AT+SYSMFG? and AT+SYSMFG=1 list one +SYSMFG:"<ns>" line per namespace, then OK', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    wire.emulator.writeMfgRaw('factory_param', 'module_name', 7, 'MINI-1');
    wire.emulator.writeMfgRaw('client_cert', 'client_cert.0', 8, 'abc');
    const list = '+SYSMFG:"factory_param"\r\n+SYSMFG:"client_cert"\r\n' + OK;
    // With echo on, the command line (with its CR LF) comes first.
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(`AT+SYSMFG?\r\n${list}`);
    expect(await wire.exchange('AT+SYSMFG=1\r\n')).toBe(`AT+SYSMFG=1\r\n${list}`);
  });

  it('an empty store lists nothing but OK', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=1\r\n')).toBe(OK);
  });

  it('AT+SYSMFG=1,"<ns>" lists +SYSMFG:"<ns>","<key>",<type> per key in storage order', async () => {
    const wire = await v3();
    const dev = wire.emulator;
    dev.writeMfgRaw('factory_param', 'uart_port', 2, 1);
    dev.writeMfgRaw('factory_param', 'uart_baudrate', 6, 115200);
    dev.writeMfgRaw('factory_param', 'module_name', 7, 'MINI-1');
    dev.writeMfgRaw('other', 'x', 1, 1);
    expect(await wire.exchange('AT+SYSMFG=1,"factory_param"\r\n')).toBe(
      '+SYSMFG:"factory_param","uart_port",2\r\n' +
        '+SYSMFG:"factory_param","uart_baudrate",6\r\n' +
        '+SYSMFG:"factory_param","module_name",7\r\n' +
        OK,
    );
    // A namespace without keys: nothing listed (modelling choice, see README).
    expect(await wire.exchange('AT+SYSMFG=1,"nothing_here"\r\n')).toBe(OK);
  });

  it('the default factory content lists the namespaces of the ESP-AT example', async () => {
    const wire = await quietEmulator({ chip: 'esp32', firmware: '3.2.0.0' });
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(
      ['factory_param', 'client_cert', 'client_key', 'client_ca', 'server_cert', 'server_key', 'server_ca', 'mqtt_cert', 'mqtt_key', 'mqtt_ca']
        .map((ns) => `+SYSMFG:"${ns}"\r\n`)
        .join('') + OK,
    );
    expect(await wire.exchange('AT+SYSMFG=1,"client_cert"\r\n')).toBe(
      '+SYSMFG:"client_cert","client_cert.0",8\r\n+SYSMFG:"client_cert","client_cert.1",8\r\n' + OK,
    );
    expect(await wire.exchange('AT+SYSMFG=1,"mqtt_key"\r\n')).toBe('+SYSMFG:"mqtt_key","mqtt_key",8\r\n' + OK);
  });
});

describe('AT+SYSMFG: read one key (§3.2 row 3)', () => {
  it('numeric types: +SYSMFG:"<ns>","<key>",<type>,<chars of the decimal>,<value>\\r\\n then OK', async () => {
    const wire = await v3();
    const dev = wire.emulator;
    dev.writeMfgRaw('n', 'u8', 1, 200);
    dev.writeMfgRaw('n', 'i8', 2, -5);
    dev.writeMfgRaw('n', 'u16', 3, 65535);
    dev.writeMfgRaw('n', 'i16', 4, -32768);
    dev.writeMfgRaw('n', 'u32', 5, 4294967295);
    dev.writeMfgRaw('n', 'i32', 6, 115200);
    expect(await wire.exchange('AT+SYSMFG=1,"n","u8"\r\n')).toBe('+SYSMFG:"n","u8",1,3,200\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"n","i8"\r\n')).toBe('+SYSMFG:"n","i8",2,2,-5\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"n","u16"\r\n')).toBe('+SYSMFG:"n","u16",3,5,65535\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"n","i16"\r\n')).toBe('+SYSMFG:"n","i16",4,6,-32768\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"n","u32"\r\n')).toBe('+SYSMFG:"n","u32",5,10,4294967295\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"n","i32"\r\n')).toBe('+SYSMFG:"n","i32",6,6,115200\r\n' + OK);
  });

  it('string and binary: header, <len>, comma, the raw bytes, CR LF, then \\r\\nOK\\r\\n', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const blob = bytes('\r\nOK\r\n>\x00\xff\r\nERROR\r\n');
    wire.emulator.writeMfgRaw('client_cert', 'client_cert.0', 8, blob);
    wire.emulator.writeMfgRaw('factory_param', 'country_code', 7, 'CN');
    const cmd = 'AT+SYSMFG=1,"client_cert","client_cert.0"\r\n';
    expect(await wire.exchange(cmd)).toBe(`${cmd}+SYSMFG:"client_cert","client_cert.0",8,${blob.length},${blob.toString('latin1')}\r\n${OK}`);
    expect(await wire.exchange('AT+SYSMFG=1,"factory_param","country_code"\r\n')).toBe(
      'AT+SYSMFG=1,"factory_param","country_code"\r\n+SYSMFG:"factory_param","country_code",7,2,CN\r\n' + OK,
    );
  });

  it('<offset>,<length> read a slice; <len> is the slice length', async () => {
    const wire = await v3();
    wire.emulator.writeMfgRaw('ns', 'key', 8, 'abcdefgh');
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",2,3\r\n')).toBe('+SYSMFG:"ns","key",8,3,cde\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",0,8\r\n')).toBe('+SYSMFG:"ns","key",8,8,abcdefgh\r\n' + OK);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",7,1\r\n')).toBe('+SYSMFG:"ns","key",8,1,h\r\n' + OK);
    // Outside the value (no clamping), zero or negative numbers, or only one of the two → ERROR.
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",6,3\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",8,1\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",0,0\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",-1,2\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key",0\r\n')).toBe(ERROR);
  });

  it('numeric values ignore <offset>,<length>', async () => {
    const wire = await v3();
    wire.emulator.writeMfgRaw('ns', 'baud', 6, 921600);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","baud",0,2\r\n')).toBe('+SYSMFG:"ns","baud",6,6,921600\r\n' + OK);
  });

  it('a missing key or namespace is ERROR', async () => {
    const wire = await v3();
    wire.emulator.writeMfgRaw('ns', 'key', 1, 1);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","nokey"\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1,"nons","key"\r\n')).toBe(ERROR);
    expect(wire.emulator.stats.mfgReads).toBe(0);
  });
});

describe('AT+SYSMFG: erase (§3.2 rows 4–5)', () => {
  it('AT+SYSMFG=0,"<ns>" erases every key of the namespace → OK', async () => {
    const wire = await v3();
    const dev = wire.emulator;
    dev.writeMfgRaw('client_cert', 'client_cert.0', 8, 'a');
    dev.writeMfgRaw('client_cert', 'client_cert.1', 8, 'b');
    dev.writeMfgRaw('client_key', 'client_key.0', 8, 'k');
    expect(await wire.exchange('AT+SYSMFG=0,"client_cert"\r\n')).toBe(OK);
    expect(dev.mfgKeys()).toEqual([{ namespace: 'client_key', key: 'client_key.0', type: 8 }]);
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe('+SYSMFG:"client_key"\r\n' + OK);
    // A namespace without keys erases fine too.
    expect(await wire.exchange('AT+SYSMFG=0,"client_cert"\r\n')).toBe(OK);
    expect(dev.stats).toMatchObject({ mfgErases: 2, mfgChanges: 1 });
  });

  it('AT+SYSMFG=0,"<ns>","<key>" erases one key; a missing key is ERROR', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const dev = wire.emulator;
    dev.writeMfgRaw('client_cert', 'client_cert.0', 8, 'a');
    dev.writeMfgRaw('client_cert', 'client_cert.1', 8, 'b');
    const cmd = 'AT+SYSMFG=0,"client_cert","client_cert.1"\r\n';
    expect(await wire.exchange(cmd)).toBe(cmd + OK);
    expect(dev.mfgKeys('client_cert').map((k) => k.key)).toEqual(['client_cert.0']);
    expect(await wire.exchange(cmd)).toBe(cmd + ERROR);
    expect(await wire.exchange('AT+SYSMFG=0,"nons","client_cert.0"\r\n')).toBe('AT+SYSMFG=0,"nons","client_cert.0"\r\n' + ERROR);
    expect(dev.stats).toMatchObject({ mfgErases: 1, mfgChanges: 1 });
  });

  it('the default factory image: stale client_cert.1 can be removed, client_cert.0 stays', async () => {
    const wire = await quietEmulator({ chip: 'esp32c2', firmware: '3.1.0.0' });
    expect(await wire.exchange('AT+SYSMFG=0,"client_cert","client_cert.1"\r\n')).toBe(OK);
    expect(wire.emulator.readMfg('client_cert', 'client_cert.1')).toBeUndefined();
    expect(wire.emulator.readMfg('client_cert', 'client_cert.0')?.text).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
  });
});

describe('AT+SYSMFG: write numbers (§3.2 row 6)', () => {
  it('types 1–6 are stored at once → OK (with echo: the line, then OK)', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const cmd = 'AT+SYSMFG=2,"factory_param","uart_baudrate",6,921600\r\n';
    expect(await wire.exchange(cmd)).toBe(cmd + OK);
    expect(wire.emulator.readMfg('factory_param', 'uart_baudrate')).toMatchObject({ type: 6, number: 921600 });
    expect(wire.emulator.stats).toMatchObject({ mfgWrites: 1, mfgBytesWritten: 4, mfgChanges: 1 });
  });

  it('u8/i8/u16/i16 are silently truncated to their width; u32 takes the int32 bits', async () => {
    const wire = await v3();
    const cases: Array<[number, string, string]> = [
      [1, '300', '1,2,44'],
      [1, '-1', '1,3,255'],
      [2, '200', '2,3,-56'],
      [3, '70000', '3,4,4464'],
      [4, '40000', '4,6,-25536'],
      [5, '-1', '5,10,4294967295'],
      [6, '-2147483648', '6,11,-2147483648'],
      [6, '0x7fffffff', '6,10,2147483647'],
    ];
    for (const [type, value, expected] of cases) {
      expect(await wire.exchange(`AT+SYSMFG=2,"n","k${type}",${type},${value}\r\n`)).toBe(OK);
      expect(await wire.exchange(`AT+SYSMFG=1,"n","k${type}"\r\n`)).toBe(`+SYSMFG:"n","k${type}",${expected}\r\n${OK}`);
    }
  });

  it('an unparsable value is ERROR (0x01080004 with SYSLOG); a missing value is ERROR', async () => {
    const wire = await v3({}, true);
    expect(await wire.exchange('AT+SYSMFG=2,"n","k",1,12a\r\n')).toBe(`ERR CODE:0x01080004\r\n${ERROR}`);
    expect(await wire.exchange('AT+SYSMFG=2,"n","k",1,\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"n","k",1\r\n')).toBe(ERROR);
    expect(wire.emulator.mfgKeys()).toEqual([]);
  });

  it('rewriting a key with another type replaces it', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"n","k",1,7\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=2,"n","k",6,-7\r\n')).toBe(OK);
    expect(wire.emulator.mfgKeys()).toEqual([{ namespace: 'n', key: 'k', type: 6 }]);
    expect(wire.emulator.readMfg('n', 'k')?.number).toBe(-7);
  });
});

describe('AT+SYSMFG: write strings/blobs (§3.2 row 7)', () => {
  it('prompts with exactly \\r\\nOK\\r\\n\\r\\n>, takes exactly <len> raw bytes, then \\r\\nOK\\r\\n', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const cmd = 'AT+SYSMFG=2,"client_cert","client_cert.0",8,10\r\n';
    expect(await wire.exchange(cmd)).toBe(cmd + PROMPT);
    expect(wire.emulator.state).toBe('raw');
    // The payload is never echoed; partial data waits.
    expect(await wire.exchange('\r\nOK\r\n')).toBe('');
    expect(wire.emulator.state).toBe('raw');
    expect(await wire.exchange('>\x00\xff\r')).toBe(OK);
    expect(wire.emulator.state).toBe('command');
    expect(wire.emulator.readMfg('client_cert', 'client_cert.0')).toMatchObject({ type: 8, bytes: bytes('\r\nOK\r\n>\x00\xff\r') });
    expect(wire.emulator.stats).toMatchObject({ mfgWrites: 1, mfgBytesWritten: 10, busyReplies: 0 });
  });

  it('type 7 stores a string; the read gives it back with type 7', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"factory_param","module_name",7,6\r\n')).toBe(PROMPT);
    expect(await wire.exchange('WROOM1')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=1,"factory_param","module_name"\r\n')).toBe(
      '+SYSMFG:"factory_param","module_name",7,6,WROOM1\r\n' + OK,
    );
  });

  it('type 7 with a NUL in the data: the data is consumed, then ERROR, nothing stored', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","str",7,4\r\n')).toBe(PROMPT);
    expect(await wire.exchange(bytes('ab\x00c'))).toBe(ERROR);
    expect(wire.emulator.readMfg('ns', 'str')).toBeUndefined();
    expect(wire.emulator.stats).toMatchObject({ mfgWrites: 0, mfgChanges: 0 });
    // The same bytes as a blob are fine.
    expect(await wire.exchange('AT+SYSMFG=2,"ns","bin",8,4\r\n')).toBe(PROMPT);
    expect(await wire.exchange(bytes('ab\x00c'))).toBe(OK);
    expect(wire.emulator.readMfg('ns', 'bin')?.bytes).toEqual(bytes('ab\x00c'));
  });

  it('bytes beyond <len> are answered busy p... and discarded (not parsed as a command)', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",8,4\r\n')).toBe(PROMPT);
    const commands = wire.emulator.stats.commands;
    expect(await wire.exchange('DATAAT\r\n')).toBe(BUSY + OK);
    expect(wire.emulator.stats.commands).toBe(commands);
    expect(wire.emulator.stats.busyReplies).toBe(1);
    expect(wire.emulator.readMfg('ns', 'key')?.bytes).toEqual(bytes('DATA'));
    // The receiver is clean afterwards.
    expect(await wire.exchange('AT\r\n')).toBe(OK);
  });

  it('leftovers: ERR CODE:0x010b0000 first with SYSLOG; a partial line is not kept either', async () => {
    const wire = await v3({}, true);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",8,2\r\n')).toBe(PROMPT);
    expect(await wire.exchange('xyA')).toBe(`ERR CODE:0x010b0000\r\n${BUSY}${OK}`);
    // "A" was dropped: this "T" alone is not "AT".
    expect(await wire.exchange('T\r\n')).toBe(`ERR CODE:0x01030000\r\n${ERROR}`);
  });

  it('contrast: SYSFLASH on the same module still parses its leftovers as the next command', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSFLASH=1,"fatfs",0,2\r\n')).toBe('>');
    expect(await wire.exchange('xyAT\r\n')).toBe(OK + OK);
  });

  it('bytes sent before the prompt are busy input and not part of the data', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",8,4\r\nABCD')).toBe(BUSY + PROMPT);
    expect(wire.emulator.state).toBe('raw');
    expect(await wire.exchange('WXYZ')).toBe(OK);
    expect(wire.emulator.readMfg('ns', 'key')?.text).toBe('WXYZ');
  });

  it('waits for missing data forever (no timeout); AT+RST inside the data is just data', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",8,12\r\n')).toBe(PROMPT);
    expect(await wire.exchange('AT+RST\r\n')).toBe('');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wire.emulator.state).toBe('raw');
    expect(await wire.exchange('1234')).toBe(OK);
    expect(wire.emulator.readMfg('ns', 'key')?.text).toBe('AT+RST\r\n1234');
    expect(wire.emulator.stats.boots).toBe(1);
  });

  it('an identical rewrite is OK but changes nothing (NVS skips equal values)', async () => {
    const wire = await v3();
    await wire.exchange('AT+SYSMFG=2,"ns","key",8,3\r\n');
    expect(await wire.exchange('abc')).toBe(OK);
    const image = wire.emulator.flashImage();
    let flashChanges = 0;
    wire.emulator.on('flashchange', () => flashChanges++);
    wire.emulator.resetStats();
    await wire.exchange('AT+SYSMFG=2,"ns","key",8,3\r\n');
    expect(await wire.exchange('abc')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","n",1,5\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","n",1,5\r\n')).toBe(OK);
    expect(wire.emulator.stats).toMatchObject({ mfgWrites: 3, mfgChanges: 1, flashBytesWritten: 0, flashBytesErased: 0 });
    expect(flashChanges).toBe(1);
    expect(wire.emulator.flashImage().equals(image)).toBe(false);
  });
});

describe('AT+SYSMFG: limits', () => {
  it('namespace and key: 1…15 characters, else ERROR before any prompt', async () => {
    const wire = await v3();
    const n15 = 'n'.repeat(15);
    const k15 = 'k'.repeat(15);
    expect(await wire.exchange(`AT+SYSMFG=2,"${n15}","${k15}",1,1\r\n`)).toBe(OK);
    expect(await wire.exchange(`AT+SYSMFG=2,"${n15}x","k",1,1\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=2,"n","${k15}x",1,1\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=2,"","k",8,4\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=2,"n","",8,4\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=2,"n","${k15}x",8,4\r\n`)).toBe(ERROR);
    expect(wire.emulator.state).toBe('command');
    // The same rules for reads and erases.
    expect(await wire.exchange(`AT+SYSMFG=1,"${n15}","${k15}"\r\n`)).toBe(`+SYSMFG:"${n15}","${k15}",1,1,1\r\n${OK}`);
    expect(await wire.exchange(`AT+SYSMFG=1,"${n15}x"\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=1,"${n15}","${k15}x"\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=0,"${n15}x"\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=0,"${n15}","${k15}x"\r\n`)).toBe(ERROR);
    expect(await wire.exchange(`AT+SYSMFG=0,""\r\n`)).toBe(ERROR);
    expect(wire.emulator.mfgKeys()).toEqual([{ namespace: n15, key: k15, type: 1 }]);
  });

  it('names must be quoted strings (0x0108000N with SYSLOG)', async () => {
    const wire = await v3({}, true);
    expect(await wire.exchange('AT+SYSMFG=1,ns\r\n')).toBe(`ERR CODE:0x01080001\r\n${ERROR}`);
    expect(await wire.exchange('AT+SYSMFG=1,"ns",key\r\n')).toBe(`ERR CODE:0x01080002\r\n${ERROR}`);
    expect(await wire.exchange('AT+SYSMFG=x\r\n')).toBe(`ERR CODE:0x01080000\r\n${ERROR}`);
  });

  it('string/binary <len>: 1…8191, else ERROR before any prompt', async () => {
    const wire = await v3();
    for (const bad of ['0', '-1', '8192', '100000']) {
      expect(await wire.exchange(`AT+SYSMFG=2,"ns","key",8,${bad}\r\n`)).toBe(ERROR);
      expect(await wire.exchange(`AT+SYSMFG=2,"ns","key",7,${bad}\r\n`)).toBe(ERROR);
    }
    expect(wire.emulator.state).toBe('command');
    expect(await wire.exchange('AT+SYSMFG=2,"ns","one",8,1\r\n')).toBe(PROMPT);
    expect(await wire.exchange('!')).toBe(OK);
    const big = Buffer.alloc(8191, 0x41);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","max",8,8191\r\n')).toBe(PROMPT);
    expect(await wire.exchange(big)).toBe(OK);
    const reply = await wire.exchange('AT+SYSMFG=1,"ns","max"\r\n');
    expect(reply).toBe(`+SYSMFG:"ns","max",8,8191,${big.toString('latin1')}\r\n${OK}`);
  });

  it('type must be 1…8', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",0,1\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",9,1\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",-8,1\r\n')).toBe(ERROR);
  });

  it('operation and parameter counts', async () => {
    const wire = await v3();
    wire.emulator.writeMfgRaw('ns', 'key', 8, 'abc');
    for (const bad of [
      'AT+SYSMFG=3',
      'AT+SYSMFG=-1',
      'AT+SYSMFG=0',
      'AT+SYSMFG=0,"ns","key",1',
      'AT+SYSMFG=1,"ns","key",1',
      'AT+SYSMFG=1,"ns","key",0,1,2',
      'AT+SYSMFG=2,"ns","key",8',
      'AT+SYSMFG=2,"ns","key",8,3,0',
      'AT+SYSMFG=2,"ns"',
      'AT+SYSMFG',
      'AT+SYSMFG=?',
    ]) {
      expect(await wire.exchange(`${bad}\r\n`), bad).toBe(ERROR);
    }
    expect(wire.emulator.readMfg('ns', 'key')?.text).toBe('abc');
  });

  it('a full mfg_nvs makes writes fail with ERROR and keeps the earlier keys', async () => {
    // esp32c2-2mb: 60 KiB mfg_nvs (15 NVS pages).
    const wire = await quietEmulator({ chip: 'esp32c2-2mb', firmware: '3.1.0.0', mfg: 'empty' });
    const blob = Buffer.alloc(8191, 0x5a);
    const stored: string[] = [];
    let failed = false;
    for (let i = 0; i < 20 && !failed; i++) {
      expect(await wire.exchange(`AT+SYSMFG=2,"big","k${i}",8,8191\r\n`)).toBe(PROMPT);
      const result = await wire.exchange(blob);
      if (result === ERROR) failed = true;
      else {
        expect(result).toBe(OK);
        stored.push(`k${i}`);
      }
    }
    expect(failed).toBe(true);
    expect(stored.length).toBeGreaterThan(2);
    expect(wire.emulator.mfgKeys('big').map((k) => k.key)).toEqual(stored);
    // Erasing makes room again.
    expect(await wire.exchange('AT+SYSMFG=0,"big"\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=2,"big","again",8,8191\r\n')).toBe(PROMPT);
    expect(await wire.exchange(blob)).toBe(OK);
  });
});

describe('AT+SYSMFG: availability', () => {
  it.each(['esp32', 'esp32c3', 'esp32c2', 'esp32c2-2mb', 'esp8266', 'esp8266-1mb'])(
    'legacy %s (default firmware) does not know AT+SYSMFG: ERROR (0x01090000 with SYSLOG)',
    async (chip) => {
      const wire = await quietEmulator({ chip: chip as never });
      expect(wire.emulator.mfgStatus).toBe('none');
      expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(ERROR);
      expect(await wire.exchange('AT+SYSMFG=1\r\n')).toBe(ERROR);
      expect(await wire.exchange('AT+SYSMFG=2,"client_cert","client_cert.0",8,4\r\n')).toBe(ERROR);
      expect(wire.emulator.state).toBe('command');
      expect(await wire.exchange('AT+SYSLOG=1\r\n')).toBe(OK);
      expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(`ERR CODE:0x01090000\r\n${ERROR}`);
      expect(() => wire.emulator.mfgKeys()).toThrow(/no mfg_nvs/);
    },
  );

  it('an erased mfg_nvs (AT+SYSFLASH erase) is an empty store', async () => {
    const wire = await quietEmulator({ chip: 'esp32', firmware: '3.2.0.0' });
    expect(wire.emulator.mfgKeys().length).toBeGreaterThan(10);
    expect(await wire.exchange('AT+SYSFLASH=0,"mfg_nvs"\r\n')).toBe(OK);
    expect(wire.emulator.readPartition('mfg_nvs').every((b) => b === 0xff)).toBe(true);
    expect(wire.emulator.mfgStatus).toBe('ok');
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSMFG=1,"client_cert","client_cert.0"\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"client_cert","client_cert.0",8,2\r\n')).toBe(PROMPT);
    expect(await wire.exchange('hi')).toBe(OK);
    expect(wire.emulator.mfgKeys()).toEqual([{ namespace: 'client_cert', key: 'client_cert.0', type: 8 }]);
  });

  it('mfg_nvs that holds no valid store (foreign bytes written with SYSFLASH): every SYSMFG is ERROR', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSFLASH=0,"mfg_nvs"\r\n')).toBe(OK);
    expect(await wire.exchange('AT+SYSFLASH=1,"mfg_nvs",0,4\r\n')).toBe('>');
    expect(await wire.exchange(Buffer.from([0xfe, 0xff, 0xff, 0xff]))).toBe(OK);
    expect(wire.emulator.mfgStatus).toBe('corrupt');
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=1\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",1,1\r\n')).toBe(ERROR);
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",8,1\r\n')).toBe(ERROR);
    expect(wire.emulator.state).toBe('command');
    expect(() => wire.emulator.mfgKeys()).toThrow(/valid store/);
    wire.emulator.resetMfg('empty');
    expect(await wire.exchange('AT+SYSMFG?\r\n')).toBe(OK);
  });

  it('the store is what the flash holds: a SYSFLASH read of mfg_nvs shows an NVS page with the keys', async () => {
    const wire = await v3();
    wire.emulator.writeMfgRaw('ns', 'key', 8, 'VALUE');
    const reply = await wire.exchange('AT+SYSFLASH=2,"mfg_nvs",0,160\r\n');
    // Page state ACTIVE, sequence 0, version 2; the namespace entry "ns", the blob chunk of "key" and its data.
    expect(reply.startsWith('+SYSFLASH:160,\xfe\xff\xff\xff\x00\x00\x00\x00\xfe')).toBe(true);
    expect(reply).toContain('ns');
    expect(reply).toContain('key');
    expect(reply).toContain('VALUE');
  });

  it('a restart keeps mfg_nvs', async () => {
    const wire = await v3();
    expect(await wire.exchange('AT+SYSMFG=2,"ns","key",5,123\r\n')).toBe(OK);
    expect(await wire.exchange('AT+RST\r\n')).toBe(`${OK}\r\nready\r\n`);
    expect(await wire.exchange('AT+SYSMFG=1,"ns","key"\r\n')).toBe('AT+SYSMFG=1,"ns","key"\r\n+SYSMFG:"ns","key",5,3,123\r\n' + OK);
  });
});
