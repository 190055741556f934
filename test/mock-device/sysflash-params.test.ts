import { describe, expect, it } from 'vitest';
import { quietEmulator } from './wire.js';

describe('AT+SYSFLASH parameter validation', () => {
  const cases: Array<[string, string]> = [
    ['AT+SYSFLASH=3,"client_cert",0,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=-1,"client_cert",0,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=x,"client_cert",0,4', 'ERR CODE:0x01080000\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,client_cert,0,4', 'ERR CODE:0x01080001\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert",zero,4', 'ERR CODE:0x01080002\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert",0,4k', 'ERR CODE:0x01080003\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH=0,"client_cert",0', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert"', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=2,"client_cert"', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert",0,4,5', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert",-4,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=2,"client_cert",0,-1', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert",,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,,0,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert,0,4', '\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"Client_cert",0,4', 'ERR CODE:0x010a0000\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH=1,"client_cert\\"",0,4', 'ERR CODE:0x010a0000\r\n\r\nERROR\r\n'],
    ['AT+SYSFLASH', 'ERR CODE:0x01090000\r\n\r\nERROR\r\n'],
  ];

  it.each(cases)('%s', async (command, reply) => {
    const wire = await quietEmulator({}, true);
    expect(await wire.exchange(`${command}\r\n`)).toBe(reply);
    expect(wire.emulator.state).toBe('command');
  });

  it('accepts decimal, 0x and 0X integers', async () => {
    const wire = await quietEmulator();
    wire.emulator.writeRaw('client_cert', 0x20, Buffer.from('hex!'));
    for (const form of ['32,4', '0x20,0x4', '0X20,0X04', '0x20,4']) {
      expect(await wire.exchange(`AT+SYSFLASH=2,"client_cert",${form}\r\n`)).toBe('+SYSFLASH:4,hex!\r\nOK\r\n');
    }
  });

  it('ignores type/subtype: any table label works, including fatfs', async () => {
    const wire = await quietEmulator({ chip: 'esp32' });
    expect(await wire.exchange('AT+SYSFLASH=2,"fatfs",0x8ff00,2\r\n')).toBe('+SYSFLASH:2,\xff\xff\r\nOK\r\n');
  });
});
