import { describe, expect, it } from 'vitest';
import { EspAtEmulator } from '../../mock-device/emulator.js';
import { Wire, bootedEmulator, quietEmulator } from './wire.js';

describe('boot', () => {
  it('prints exactly \\r\\nready\\r\\n after power-on, with echo on and SYSLOG off', async () => {
    const wire = new Wire(new EspAtEmulator({ chip: 'esp32c3' }));
    expect(await wire.read()).toBe('\r\nready\r\n');
    expect(wire.emulator.echo).toBe(true);
    expect(wire.emulator.syslog).toBe(false);
    expect(await wire.exchange('AT+SYSLOG?\r\n')).toBe('AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n');
  });

  it('startup "running" is up and silent; "off" ignores input until powered', async () => {
    const running = new Wire(new EspAtEmulator({ startup: 'running' }));
    expect(await running.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');

    const off = new Wire(new EspAtEmulator({ startup: 'off' }));
    expect(off.emulator.powered).toBe(false);
    expect(await off.exchange('AT\r\n')).toBe('');
    off.emulator.powerOn();
    expect(await off.read()).toBe('\r\nready\r\n');
    expect(await off.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('drops input that arrives while booting', async () => {
    const wire = new Wire(new EspAtEmulator({ bootDelayMs: 30 }));
    wire.send('AT\r\n');
    expect(await wire.read()).toBe('\r\nready\r\n');
  });
});

describe('echo and line receiver', () => {
  it('echoes the command including its CR LF before the response', async () => {
    const wire = await bootedEmulator();
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('ATE0 is echoed itself, then nothing is echoed; ATE1 turns it back on', async () => {
    const wire = await bootedEmulator();
    expect(await wire.exchange('ATE0\r\n')).toBe('ATE0\r\n\r\nOK\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('ATE1\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('assembles a command from several chunks', async () => {
    const wire = await bootedEmulator();
    expect(await wire.exchange('A')).toBe('');
    expect(await wire.exchange('T\r')).toBe('');
    expect(await wire.exchange('\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('only CR LF terminates a line', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT\n')).toBe('');
    expect(await wire.exchange('\r')).toBe('');
    // The line is now "AT\n\r" + "\r\n": not a known command.
    expect(await wire.exchange('\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
  });

  it('ignores an empty line (echoing its CR LF)', async () => {
    const wire = await bootedEmulator();
    expect(await wire.exchange('\r\n')).toBe('\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('answers ERROR to unknown commands and lines without AT (codes only with SYSLOG)', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+FOO\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('at\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT+GMR?\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSLOG=1\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+FOO\r\n')).toBe('ERR CODE:0x01090000\r\n\r\nERROR\r\n');
    expect(await wire.exchange('HELLO\r\n')).toBe('ERR CODE:0x01030000\r\n\r\nERROR\r\n');
  });

  it('accepts a 256-byte line (CR LF included) and drops a 257-byte one', async () => {
    const wire = await quietEmulator();
    wire.emulator.writeRaw('client_cert', 0, Buffer.from('WXYZ'));
    const prefix = 'AT+SYSFLASH=2,"client_cert",0,';
    const line = (total: number): string => `${prefix}${'0'.repeat(total - prefix.length - 3)}4\r\n`;
    expect(line(256)).toHaveLength(256);
    expect(await wire.exchange(line(256))).toBe('+SYSFLASH:4,WXYZ\r\nOK\r\n');
    expect(await wire.exchange(line(257))).toBe('');
    // The receiver is clean again after the dropped line.
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
  });

  it('drops an over-long line without echo even when echo is on', async () => {
    const wire = await bootedEmulator();
    expect(await wire.exchange(`AT+${'X'.repeat(400)}\r\n`)).toBe('');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('counts commands by name', async () => {
    const wire = await quietEmulator();
    await wire.exchange('AT\r\n');
    await wire.exchange('AT+GMR\r\n');
    await wire.exchange('AT+GMR\r\n');
    expect(wire.emulator.stats.commandsByName).toMatchObject({ '': 1, E0: 1, '+GMR': 2 });
    expect(wire.emulator.stats.commands).toBe(4);
    wire.emulator.resetStats();
    expect(wire.emulator.stats.commands).toBe(0);
  });
});
