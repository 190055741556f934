import { describe, expect, it } from 'vitest';
import { bootedEmulator, quietEmulator } from './wire.js';

describe('AT+SYSLOG', () => {
  it('query, set 0/1, reject other values', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSLOG?\r\n')).toBe('+SYSLOG:0\r\n\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSLOG=1\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSLOG?\r\n')).toBe('+SYSLOG:1\r\n\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSLOG=2\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSLOG=a\r\n')).toBe('ERR CODE:0x01080000\r\n\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSLOG=0\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSLOG=a\r\n')).toBe('\r\nERROR\r\n');
  });
});

describe('AT+RST', () => {
  it('answers OK, reboots, prints ready; echo/SYSLOG/baud forgotten, flash kept', async () => {
    const wire = await bootedEmulator();
    await wire.exchange('AT+SYSLOG=1\r\n');
    await wire.exchange('ATE0\r\n');
    await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n');
    await wire.exchange('KEEP');
    await wire.exchange('AT+UART_CUR=230400,8,1,0,0\r\n');
    expect(wire.emulator.baudRate).toBe(230400);
    const bootsBefore = wire.emulator.stats.boots;
    expect(await wire.exchange('AT+RST\r\n')).toBe('\r\nOK\r\n\r\nready\r\n');
    expect(wire.emulator.stats.boots).toBe(bootsBefore + 1);
    expect(wire.emulator.echo).toBe(true);
    expect(wire.emulator.syslog).toBe(false);
    expect(wire.emulator.baudRate).toBe(115200);
    expect(wire.emulator.readPartition('client_cert').subarray(0, 4).toString()).toBe('KEEP');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('a hardware reset() aborts raw data mode and reboots', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,100\r\n')).toBe('>');
    wire.emulator.reset();
    expect(await wire.read()).toBe('\r\nready\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });
});

describe('AT+UART_CUR', () => {
  it('sends OK at the old baud, then switches (baudrate event after the OK)', async () => {
    const wire = await quietEmulator({ chip: 'esp32c3' });
    const events: string[] = [];
    wire.emulator.on('data', (chunk) => events.push(`data:${chunk.toString('latin1')}`));
    wire.emulator.on('baudrate', (baud) => events.push(`baud:${baud}`));
    expect(await wire.exchange('AT+UART_CUR=921600,8,1,0,1\r\n')).toBe('\r\nOK\r\n');
    expect(events).toEqual(['data:\r\nOK\r\n', 'baud:921600']);
    expect(wire.emulator.uartConfig).toEqual({ baudRate: 921600, dataBits: 8, stopBits: 1, parity: 0, flowControl: 1 });
    expect(await wire.exchange('AT+UART_CUR?\r\n')).toBe('+UART_CUR:921600,8,1,0,1\r\n\r\nOK\r\n');
  });

  it.each([
    'AT+UART_CUR=115200,8,1,0',
    'AT+UART_CUR=79,8,1,0,0',
    'AT+UART_CUR=115200,9,1,0,0',
    'AT+UART_CUR=115200,8,4,0,0',
    'AT+UART_CUR=115200,8,1,3,0',
    'AT+UART_CUR=115200,8,1,0,4',
    'AT+UART_CUR=fast,8,1,0,0',
    'AT+UART_CUR=3000000,8,1,0,0',
  ])('rejects %s on esp32c2', async (command) => {
    const wire = await quietEmulator({ chip: 'esp32c2' });
    const events: number[] = [];
    wire.emulator.on('baudrate', (b) => events.push(b));
    expect(await wire.exchange(`${command}\r\n`)).toBe('\r\nERROR\r\n');
    expect(events).toEqual([]);
    expect(wire.emulator.baudRate).toBe(115200);
  });

  it('accepts up to the chip maximum', async () => {
    const wire = await quietEmulator({ chip: 'esp32' });
    expect(await wire.exchange('AT+UART_CUR=5000000,8,1,0,0\r\n')).toBe('\r\nOK\r\n');
    expect(wire.emulator.baudRate).toBe(5000000);
  });
});
