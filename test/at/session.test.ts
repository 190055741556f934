import { describe, expect, it } from 'vitest';
import { AtSession, type CommandEvent } from '../../src/at/session.js';
import { sysflashReadPayload } from '../../src/at/framer.js';
import { AbortedError, DeviceError, DisconnectedError, InputError, TimeoutError } from '../../src/errors.js';
import { basicModule, ScriptedTransport } from '../support/scripted-transport.js';

const fast = { commandTimeoutMs: 300, busyBackoffMs: 5 };

describe('AtSession (scripted module)', () => {
  it('syncs with AT, keeps echo on (ATE1) and turns error codes on at connect', async () => {
    const t = new ScriptedTransport(basicModule());
    const session = await AtSession.connect(t, fast);
    expect(t.transcript).toContain('AT\r\n');
    expect(t.transcript).toContain('ATE1\r\n');
    expect(t.transcript).not.toContain('ATE0');
    expect(t.transcript).toContain('AT+SYSLOG=1\r\n');
    expect(session.errorCodesEnabled).toBe(true);
  });

  it('keeps working on firmware that refuses AT+SYSLOG', async () => {
    const t = new ScriptedTransport((bytes, tr) => {
      const text = bytes.toString('latin1');
      tr.reply(text.startsWith('AT+SYSLOG') ? '\r\nERROR\r\n' : '\r\nOK\r\n');
    });
    const session = await AtSession.connect(t, fast);
    expect(session.errorCodesEnabled).toBe(false);
    await expect(session.command('AT')).resolves.toEqual({ lines: [] });
  });

  it('tolerates echo and passes URCs aside, never as part of the answer', async () => {
    const t = new ScriptedTransport(
      basicModule((line, tr) => {
        if (line === 'AT+GMR') tr.reply('AT+GMR\r\nWIFI GOT IP\r\nAT version:2.4.0.0(x)\r\nSDK version:v4.3\r\n\r\nOK\r\n');
      }),
    );
    const session = await AtSession.connect(t, fast);
    const unsolicited: string[] = [];
    session.on('unsolicited', (l: string) => unsolicited.push(l));
    const answer = await session.command('AT+GMR');
    expect(answer.lines).toEqual(['AT version:2.4.0.0(x)', 'SDK version:v4.3']);
    expect(unsolicited).toEqual(['WIFI GOT IP']);
  });

  it('decodes ERR CODE into the error message', async () => {
    const t = new ScriptedTransport(basicModule((_l, tr) => tr.reply('ERR CODE:0x010a0000\r\n\r\nERROR\r\n')));
    const session = await AtSession.connect(t, fast);
    const error = await session.command('AT+SYSFLASH=2,"nope",0,4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).message).toContain('partition not found');
    expect((error as DeviceError).details.errorCode).toBe('0x010a0000');
  });

  it('sends a command again after "busy p...", with backoff', async () => {
    let refusals = 2;
    const t = new ScriptedTransport(
      basicModule((line, tr) => {
        if (line !== 'AT+GMR') return;
        if (refusals-- > 0) tr.reply('ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n');
        else tr.reply('AT version:1\r\n\r\nOK\r\n');
      }),
      (line) => line !== 'AT+GMR' || refusals <= 0, // input discarded as busy is not echoed
    );
    const session = await AtSession.connect(t, fast);
    const events: CommandEvent[] = [];
    session.on('command', (e: CommandEvent) => events.push(e));
    await expect(session.command('AT+GMR')).resolves.toEqual({ lines: ['AT version:1'] });
    expect(t.transcript.split('AT+GMR\r\n').length - 1).toBe(3);
    expect(events.map((e) => e.result)).toEqual(['busy', 'busy', 'ok']);
  });

  it('gives up on a module that stays busy', async () => {
    const t = new ScriptedTransport(basicModule((_l, tr) => tr.reply('\r\nbusy p...\r\n')), (line) => line !== 'AT+GMR');
    const session = await AtSession.connect(t, { ...fast, busyRetries: 2 });
    await expect(session.command('AT+GMR')).rejects.toThrow(/stayed busy/);
  });

  it('never sends data before the ">" prompt, and sends exactly the data after it', async () => {
    const data = Buffer.from('\x00\x01\r\nOK\r\n>', 'latin1');
    let promptSentAt = -1;
    const t = new ScriptedTransport(
      basicModule((line, tr) => {
        if (!line.startsWith('AT+SYSFLASH=1')) return;
        promptSentAt = tr.written.length;
        // The prompt comes a little later; data must not arrive before it.
        setTimeout(() => tr.reply('>'), 20);
      }),
    );
    const session = await AtSession.connect(t, fast);
    const done = session.command(`AT+SYSFLASH=1,"client_cert",0,${data.length}`, { data });
    // Answer OK once the data has arrived.
    const waitForData = setInterval(() => {
      const last = t.written.at(-1);
      if (last && last.equals(data)) {
        clearInterval(waitForData);
        t.reply('\r\nOK\r\n');
      }
    }, 2);
    await expect(done).resolves.toEqual({ lines: [] });
    expect(t.written.length).toBe(promptSentAt + 1);
    expect(t.written.at(-1)).toEqual(data);
  });

  it('fails a write that gets ERROR instead of a prompt without sending the data', async () => {
    const t = new ScriptedTransport(basicModule((_l, tr) => tr.reply('ERR CODE:0x010a0000\r\n\r\nERROR\r\n')));
    const session = await AtSession.connect(t, fast);
    await expect(session.command('AT+SYSFLASH=1,"x",0,4', { data: Buffer.from('abcd') })).rejects.toBeInstanceOf(DeviceError);
    expect(t.transcript).not.toContain('abcd');
  });

  it('reads a length-framed payload that contains result codes', async () => {
    const payload = Buffer.from('\r\nOK\r\n\r\nERROR\r\n>', 'latin1');
    const t = new ScriptedTransport(
      basicModule((_l, tr) => tr.reply(Buffer.concat([Buffer.from(`+SYSFLASH:${payload.length},`), payload, Buffer.from('\r\nOK\r\n')]))),
    );
    const session = await AtSession.connect(t, fast);
    const answer = await session.command(`AT+SYSFLASH=2,"client_cert",0,${payload.length}`, { payload: sysflashReadPayload });
    expect(answer.payload).toEqual(payload);
  });

  it('fails the command clearly when the module restarts mid-command, then re-initialises', async () => {
    let resets = 1;
    const t = new ScriptedTransport(
      basicModule((line, tr) => {
        if (line === 'AT+GMR' && resets-- > 0) tr.reply('\r\nready\r\n');
        else if (line === 'AT+GMR') tr.reply('\r\nOK\r\n');
      }),
    );
    const session = await AtSession.connect(t, fast);
    await expect(session.command('AT+GMR')).rejects.toThrow(/restarted/);
    const before = t.transcript.length;
    await expect(session.command('AT+GMR')).resolves.toEqual({ lines: [] });
    expect(t.transcript.slice(before)).toMatch(/^ATE1\r\nAT\+SYSLOG=1\r\nAT\+GMR\r\n$/);
  });

  it('reports a module reset noticed between commands', async () => {
    const t = new ScriptedTransport(basicModule());
    const session = await AtSession.connect(t, fast);
    const reset = new Promise((resolve) => session.once('reset', resolve));
    t.reply('\r\nready\r\n');
    await expect(reset).resolves.toBe('ready');
  });

  it('times out a silent module, then resyncs with AT before the next command', async () => {
    let silent = true;
    const t = new ScriptedTransport(
      basicModule((line, tr) => {
        if (line === 'AT+GMR' && !silent) tr.reply('\r\nOK\r\n');
      }),
    );
    const session = await AtSession.connect(t, fast);
    const error = await session.command('AT+GMR').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    silent = false;
    const before = t.transcript.length;
    await session.command('AT+GMR');
    expect(t.transcript.slice(before)).toMatch(/AT\r\n.*AT\+GMR\r\n$/s);
  });

  it('tops a stalled data phase up with 0xFF and says the range is unverified', async () => {
    let owed = 0;
    const t = new ScriptedTransport((bytes, tr) => {
      const text = bytes.toString('latin1');
      if (owed > 0) {
        owed -= bytes.length;
        if (owed <= 0) tr.reply('\r\nOK\r\n');
        return;
      }
      if (text.startsWith('AT+SYSFLASH=1')) {
        tr.reply('>');
        // Pretend 3 bytes of the data got lost on the line: the module waits for 3 more.
        owed = 3 + 16;
        return;
      }
      tr.reply('\r\nOK\r\n');
    });
    const session = await AtSession.connect(t, fast);
    const recovered: unknown[] = [];
    session.on('recovered', (d: unknown) => recovered.push(d));
    const error = await session.command('AT+SYSFLASH=1,"client_cert",0,16', { data: Buffer.alloc(16, 0x41) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).message).toMatch(/topped up with \d+ bytes of 0xFF/);
    expect((error as DeviceError).details.toppedUpBytes).toBeGreaterThanOrEqual(3);
    expect(recovered).toHaveLength(1);
    const topUp = Buffer.concat(t.written.slice(-1));
    expect([...topUp].every((b) => b === 0xff)).toBe(true);
    await expect(session.command('AT')).resolves.toEqual({ lines: [] });
  });

  it('tops up a module that may have entered data mode when the prompt was lost', async () => {
    let owed = 0;
    const t = new ScriptedTransport((bytes, tr) => {
      if (owed > 0) {
        owed -= bytes.length;
        if (owed <= 0) tr.reply('\r\nOK\r\n');
        return;
      }
      const text = bytes.toString('latin1');
      if (text.startsWith('AT+SYSFLASH=1')) {
        owed = 8; // the ">" is lost: the module waits for data we never send
        return;
      }
      tr.reply('\r\nOK\r\n');
    });
    const session = await AtSession.connect(t, fast);
    await expect(session.command('AT+SYSFLASH=1,"client_cert",0,8', { data: Buffer.alloc(8, 0x41) })).rejects.toBeInstanceOf(TimeoutError);
    const before = t.written.length;
    await expect(session.command('AT')).resolves.toEqual({ lines: [] });
    const next = t.written.slice(before);
    expect(next[0]).toEqual(Buffer.alloc(8, 0xff));
    expect(Buffer.concat(next).toString('latin1')).not.toContain('A'.repeat(8));
  });

  it('cancels a command waiting for its answer', async () => {
    const t = new ScriptedTransport(basicModule(() => {}));
    const session = await AtSession.connect(t, { ...fast, commandTimeoutMs: 5000 });
    const controller = new AbortController();
    const pending = session.command('AT+GMR', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('operator pressed stop')), 20);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });

  it('fails waiting commands at once when the port goes away', async () => {
    const t = new ScriptedTransport(basicModule(() => {}));
    const session = await AtSession.connect(t, { ...fast, commandTimeoutMs: 5000 });
    const pending = session.command('AT+GMR');
    const queued = session.command('AT');
    setTimeout(() => t.unplug(), 20);
    await expect(pending).rejects.toBeInstanceOf(DisconnectedError);
    await expect(queued).rejects.toBeInstanceOf(DisconnectedError);
  });

  it('refuses commands that would break the line framing', async () => {
    const t = new ScriptedTransport(basicModule());
    const session = await AtSession.connect(t, fast);
    await expect(session.command('AT\r\nAT+RST')).rejects.toBeInstanceOf(InputError);
    await expect(session.command(`AT+SYSFLASH=2,"${'x'.repeat(300)}",0,4`)).rejects.toBeInstanceOf(InputError);
  });
});
