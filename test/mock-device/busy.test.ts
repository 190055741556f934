import { describe, expect, it } from 'vitest';
import { bootedEmulator, quietEmulator } from './wire.js';

describe('busy receiver', () => {
  it('drops bytes sent before the > prompt with busy p..., then waits for the full payload', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\nABCD')).toBe('\r\nbusy p...\r\n>');
    expect(wire.emulator.state).toBe('raw');
    expect(await wire.exchange('WXYZ')).toBe('\r\nOK\r\n');
    expect(wire.emulator.readPartition('client_cert').subarray(0, 4).toString()).toBe('WXYZ');
    expect(wire.emulator.stats.busyReplies).toBe(1);
  });

  it('prefixes ERR CODE:0x010b0000 when SYSLOG is on', async () => {
    const wire = await quietEmulator({}, true);
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\nAB')).toBe(
      'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n>',
    );
  });

  it('answers a chunk that arrives before the previous command finished with busy p...', async () => {
    const wire = await bootedEmulator();
    wire.send('AT\r\n');
    wire.send('AT\r\n');
    expect(await wire.read()).toBe('AT\r\n\r\nbusy p...\r\n\r\nOK\r\n');
    // The second AT was discarded, not queued.
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('is busy while a flash erase takes its time', async () => {
    const wire = await quietEmulator({ flashTiming: { sectorEraseMs: 400 } });
    wire.send('AT+SYSFLASH=0,"client_cert",0,4096\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(wire.emulator.state).toBe('busy');
    wire.send('AT\r\n');
    expect(await wire.read()).toBe('\r\nbusy p...\r\n\r\nOK\r\n');
  });

  it('restarts when a busy chunk contains AT+RST\\r\\n; the interrupted command never answers', async () => {
    const wire = await quietEmulator({}, true);
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\nAT+RST\r\n')).toBe(
      '\r\nWill force to restart!!!\r\n\r\nready\r\n',
    );
    expect(wire.emulator.echo).toBe(true);
    expect(wire.emulator.syslog).toBe(false);
    expect(wire.emulator.state).toBe('command');
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('AT+RST during raw data mode is swallowed as payload', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,8\r\n')).toBe('>');
    expect(await wire.exchange('AT+RST\r\n')).toBe('\r\nOK\r\n');
    expect(wire.emulator.readPartition('client_cert').subarray(0, 8).toString()).toBe('AT+RST\r\n');
    expect(wire.emulator.stats.boots).toBe(1);
  });
});
