import { describe, expect, it } from 'vitest';
import { bootedEmulator, bytes, quietEmulator } from './wire.js';

describe('AT+SYSFLASH write (op 1)', () => {
  it('echoes, prints a bare > and nothing else, then OK after exactly <len> bytes', async () => {
    const wire = await bootedEmulator({ chip: 'esp32c3' });
    const cmd = 'AT+SYSFLASH=1,"client_cert",0,6\r\n';
    expect(await wire.exchange(cmd)).toBe(`${cmd}>`);
    expect(await wire.exchange('abc')).toBe('');
    expect(wire.emulator.state).toBe('raw');
    // Payload is never echoed.
    expect(await wire.exchange('def')).toBe('\r\nOK\r\n');
    expect(wire.emulator.readPartition('client_cert').subarray(0, 8)).toEqual(bytes('abcdef\xff\xff'));
  });

  it('writes into the right absolute flash address', async () => {
    const wire = await quietEmulator({ chip: 'esp32' });
    await wire.exchange('AT+SYSFLASH=1,"client_key",0x10,4\r\n');
    await wire.exchange('KEY!');
    expect(wire.emulator.flash.read(0x2c000 + 0x10, 4).toString()).toBe('KEY!');
  });

  it('stores binary payload raw, including CR LF, OK, > and NUL', async () => {
    const wire = await quietEmulator();
    const payload = bytes('\r\nOK\r\n>\x00\xff\r\nERROR\r\n');
    expect(await wire.exchange(`AT+SYSFLASH=1,"server_cert",0,${payload.length}\r\n`)).toBe('>');
    expect(await wire.exchange(payload)).toBe('\r\nOK\r\n');
    expect(wire.emulator.readPartition('server_cert').subarray(0, payload.length)).toEqual(payload);
  });

  it('has NOR semantics: a write ANDs onto existing content; erase restores 0xFF', async () => {
    const wire = await quietEmulator();
    wire.emulator.writeRaw('client_ca', 0, Buffer.from([0xf0, 0x0f, 0xaa, 0xff]));
    await wire.exchange('AT+SYSFLASH=1,"client_ca",0,4\r\n');
    expect(await wire.exchange(Buffer.from([0x0f, 0xff, 0x55, 0x12]))).toBe('\r\nOK\r\n');
    expect([...wire.emulator.readPartition('client_ca').subarray(0, 4)]).toEqual([0x00, 0x0f, 0x00, 0x12]);
    expect(await wire.exchange('AT+SYSFLASH=0,"client_ca"\r\n')).toBe('\r\nOK\r\n');
    await wire.exchange('AT+SYSFLASH=1,"client_ca",0,4\r\n');
    await wire.exchange(Buffer.from([0x0f, 0xff, 0x55, 0x12]));
    expect([...wire.emulator.readPartition('client_ca').subarray(0, 4)]).toEqual([0x0f, 0xff, 0x55, 0x12]);
  });

  it('feeds bytes beyond <len> to the command parser after the result', async () => {
    const wire = await quietEmulator();
    await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n');
    // The first leftover line starts a command, so the rest of that chunk is busy input.
    expect(await wire.exchange('DATAAT+GMR?\r\nAT\r\n')).toBe('\r\nOK\r\n\r\nbusy p...\r\n\r\nERROR\r\n');
    expect(wire.emulator.readPartition('client_cert').subarray(0, 5).toString('latin1')).toBe('DATA\xff');
  });

  it('a leftover partial command is completed by the next chunk', async () => {
    const wire = await bootedEmulator();
    await wire.exchange('AT+SYSFLASH=1,"client_cert",0,2\r\n');
    expect(await wire.exchange('xyA')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('T\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('waits for missing payload bytes forever (no timeout)', async () => {
    const wire = await quietEmulator();
    await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n');
    await wire.exchange('ab');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wire.emulator.state).toBe('raw');
    // Topping up with 0xFF completes it without changing erased flash.
    expect(await wire.exchange(Buffer.from([0xff, 0xff]))).toBe('\r\nOK\r\n');
    expect(wire.emulator.readPartition('client_cert').subarray(0, 4)).toEqual(bytes('ab\xff\xff'));
  });

  it('range-check bug: past the end it warns 0x010a0001, still prompts, eats the data, then fails 0x010a0003', async () => {
    const wire = await quietEmulator({ chip: 'esp32c3' }, true);
    const before = wire.emulator.flashImage();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",8190,4\r\n')).toBe('ERR CODE:0x010a0001\r\n>');
    expect(await wire.exchange('WXYZ')).toBe('ERR CODE:0x010a0003\r\n\r\nERROR\r\n');
    expect(wire.emulator.flashImage().equals(before)).toBe(true);
    expect(wire.emulator.stats.flashBytesWritten).toBe(0);
  });

  it('range-check bug without SYSLOG: bare > then ERROR', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",8192,1\r\n')).toBe('>');
    expect(await wire.exchange('Z')).toBe('\r\nERROR\r\n');
  });

  it('unknown partition fails before any prompt (0x010a0000 only with SYSLOG)', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"nope",0,4\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSLOG=1\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSFLASH=1,"nope",0,4\r\n')).toBe('ERR CODE:0x010a0000\r\n\r\nERROR\r\n');
    expect(wire.emulator.state).toBe('command');
  });

  it('a zero-length write prompts and completes at once', async () => {
    const wire = await quietEmulator();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,0\r\n')).toBe('>\r\nOK\r\n');
  });

  it('a payload too big for the heap fails with 0x010a0002 and no prompt', async () => {
    const wire = await quietEmulator({ chip: 'esp32' }, true);
    expect(await wire.exchange('AT+SYSFLASH=1,"fatfs",0,300000\r\n')).toBe('ERR CODE:0x010a0002\r\n\r\nERROR\r\n');
  });

  it('counts written bytes (a no-op run writes nothing)', async () => {
    const wire = await quietEmulator();
    await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n');
    await wire.exchange('1234');
    expect(wire.emulator.stats.flashBytesWritten).toBe(4);
    wire.emulator.resetStats();
    await wire.exchange('AT+SYSFLASH=2,"client_cert",0,4\r\n');
    expect(wire.emulator.stats).toMatchObject({ flashBytesWritten: 0, flashBytesErased: 0, flashBytesRead: 4 });
  });
});
