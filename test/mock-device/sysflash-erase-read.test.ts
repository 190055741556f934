import { describe, expect, it } from 'vitest';
import { bytes, quietEmulator } from './wire.js';

const allFF = (b: Buffer): boolean => b.every((x) => x === 0xff);

describe('AT+SYSFLASH erase (op 0)', () => {
  it('2-parameter form erases exactly the whole partition', async () => {
    const wire = await quietEmulator({ chip: 'esp32', fill: 'garbage', seed: 3 });
    const e = wire.emulator;
    expect(allFF(e.readPartition('client_cert'))).toBe(false);
    const neighbours = [e.readPartition('server_ca'), e.readPartition('client_key')];
    expect(await wire.exchange('AT+SYSFLASH=0,"client_cert"\r\n')).toBe('\r\nOK\r\n');
    expect(allFF(e.readPartition('client_cert'))).toBe(true);
    expect([e.readPartition('server_ca'), e.readPartition('client_key')]).toEqual(neighbours);
    expect(e.stats.flashBytesErased).toBe(0x2000);
  });

  it('4-parameter form erases 4 KiB-aligned ranges (hex accepted)', async () => {
    const wire = await quietEmulator({ chip: 'esp32', fill: 'garbage' });
    const before = wire.emulator.readPartition('ble_data');
    expect(await wire.exchange('AT+SYSFLASH=0,"ble_data",0x1000,4096\r\n')).toBe('\r\nOK\r\n');
    const after = wire.emulator.readPartition('ble_data');
    expect(after.subarray(0, 0x1000)).toEqual(before.subarray(0, 0x1000));
    expect(allFF(after.subarray(0x1000, 0x2000))).toBe(true);
    expect(after.subarray(0x2000)).toEqual(before.subarray(0x2000));
  });

  it('rejects unaligned offset or length with 0x010a0001 and changes nothing', async () => {
    const wire = await quietEmulator({ fill: 'garbage' }, true);
    const before = wire.emulator.flashImage();
    expect(await wire.exchange('AT+SYSFLASH=0,"client_cert",0,100\r\n')).toBe('ERR CODE:0x010a0001\r\n\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSFLASH=0,"client_cert",2048,4096\r\n')).toBe('ERR CODE:0x010a0001\r\n\r\nERROR\r\n');
    expect(wire.emulator.flashImage().equals(before)).toBe(true);
  });

  it('an aligned range past the end fails in the erase itself (0x010a0002)', async () => {
    const wire = await quietEmulator({}, true);
    expect(await wire.exchange('AT+SYSFLASH=0,"client_cert",4096,8192\r\n')).toBe('ERR CODE:0x010a0002\r\n\r\nERROR\r\n');
  });

  it('also addresses the fatfs data partition (lookup is by label only)', async () => {
    const wire = await quietEmulator({ chip: 'esp32c3', fill: 'garbage' });
    expect(await wire.exchange('AT+SYSFLASH=0,"fatfs",0,4096\r\n')).toBe('\r\nOK\r\n');
    expect(allFF(wire.emulator.readPartition('fatfs').subarray(0, 4096))).toBe(true);
  });
});

describe('AT+SYSFLASH read (op 2)', () => {
  it('frames as +SYSFLASH:<n>, + raw bytes + \\r\\nOK\\r\\n with no CR LF in between', async () => {
    const wire = await quietEmulator();
    const content = bytes('\r\nOK\r\n>,');
    wire.emulator.writeRaw('client_key', 0x100, content);
    expect(await wire.exchange(`AT+SYSFLASH=2,"client_key",256,${content.length}\r\n`)).toBe(
      `+SYSFLASH:${content.length},${content.toString('latin1')}\r\nOK\r\n`,
    );
  });

  it('reads erased flash as 0xFF and echoes the command first when echo is on', async () => {
    const wire = await quietEmulator();
    await wire.exchange('ATE1\r\n');
    const cmd = 'AT+SYSFLASH=2,"mqtt_ca",0,3\r\n';
    expect(await wire.exchange(cmd)).toBe(`${cmd}+SYSFLASH:3,\xff\xff\xff\r\nOK\r\n`);
  });

  it('reads a whole 4 KiB chunk byte-exactly', async () => {
    const wire = await quietEmulator({ fill: 'garbage', seed: 11 });
    const expected = wire.emulator.readPartition('client_cert').subarray(0, 4096);
    const reply = bytes(await wire.exchange('AT+SYSFLASH=2,"client_cert",0,4096\r\n'));
    const header = bytes('+SYSFLASH:4096,');
    expect(reply.subarray(0, header.length)).toEqual(header);
    expect(reply.subarray(header.length, header.length + 4096)).toEqual(expected);
    expect(reply.subarray(header.length + 4096).toString()).toBe('\r\nOK\r\n');
  });

  it('out of range: 0x010a0001 then 0x010a0003 and ERROR', async () => {
    const wire = await quietEmulator({}, true);
    expect(await wire.exchange('AT+SYSFLASH=2,"client_cert",8000,200\r\n')).toBe(
      'ERR CODE:0x010a0001\r\nERR CODE:0x010a0003\r\n\r\nERROR\r\n',
    );
    expect(await wire.exchange('AT+SYSLOG=0\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSFLASH=2,"client_cert",8000,200\r\n')).toBe('\r\nERROR\r\n');
  });

  it('a zero-length read is just the header', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=2,"client_cert",0,0\r\n')).toBe('+SYSFLASH:0,\r\nOK\r\n');
  });
});
