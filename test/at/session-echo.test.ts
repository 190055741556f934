/**
 * Issue 12, finding 1: the session compares each command's echo with what it sent before anything
 * else happens. Scripted module: it echoes what it "received", which the test garbles once.
 */
import { describe, expect, it } from 'vitest';
import { AtSession } from '../../src/at/session.js';
import { EchoMismatchError } from '../../src/errors.js';
import { ScriptedTransport } from '../support/scripted-transport.js';

const fast = { commandTimeoutMs: 500, busyBackoffMs: 5 };

/** A module whose echo of the first line starting with `target` is `garbled`; it then behaves as that line says. */
function garblingModule(target: string, garbled: string, handle: (line: string, t: ScriptedTransport, state: { owed: number }) => void) {
  let pending = '';
  let done = false;
  const state = { owed: 0 };
  return (bytes: Buffer, t: ScriptedTransport): void => {
    if (state.owed > 0) {
      state.owed -= bytes.length;
      if (state.owed <= 0) t.reply('\r\nOK\r\n');
      return;
    }
    pending += bytes.toString('latin1');
    let end;
    while ((end = pending.indexOf('\r\n')) >= 0) {
      let line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (line === '') continue;
      if (!done && line.startsWith(target)) {
        done = true;
        line = garbled;
      }
      t.reply(`${line}\r\n`);
      handle(line, t, state);
    }
  };
}

describe('AtSession echo check', () => {
  it('a write whose echo differs gets 0xFF bytes, never its data, and is sent again', async () => {
    const data = Buffer.alloc(16, 0x41);
    const t = new ScriptedTransport(
      garblingModule('AT+SYSFLASH=1', 'AT+SYSFLASH=1,"client_cert",8,16', (line, tr, state) => {
        if (line.startsWith('AT+SYSFLASH=1')) {
          tr.reply('>');
          state.owed = 16;
        } else tr.reply('\r\nOK\r\n');
      }),
      false,
    );
    const session = await AtSession.connect(t, fast);
    await session.command('AT+SYSFLASH=1,"client_cert",0,16', { data });
    const afterFirstWrite = t.written.findIndex((b) => b.toString('latin1').startsWith('AT+SYSFLASH=1'));
    expect(t.written[afterFirstWrite + 1]).toEqual(Buffer.alloc(16, 0xff));
    expect(t.written.filter((b) => b.equals(data))).toHaveLength(1);
    expect(t.transcript.split('AT+SYSFLASH=1,"client_cert",0,16\r\n')).toHaveLength(3);
    expect(session.suspectEvents).toBe(0); // 0xFF on flash: nothing happened
  });

  it('an erase whose echo differs is sent again and counted as suspect (it may have erased elsewhere)', async () => {
    const t = new ScriptedTransport(garblingModule('AT+SYSFLASH=0', 'AT+SYSFLASH=0,"client_cert",12288,4096', (_l, tr) => tr.reply('\r\nOK\r\n')), false);
    const session = await AtSession.connect(t, fast);
    const mismatches: unknown[] = [];
    session.on('echo-mismatch', (d: unknown) => mismatches.push(d));
    await session.command('AT+SYSFLASH=0,"client_cert",4096,4096');
    expect(session.suspectEvents).toBe(1);
    expect(mismatches).toHaveLength(1);
    expect(t.transcript.split('AT+SYSFLASH=0,"client_cert",4096,4096\r\n')).toHaveLength(3);
  });

  it('an AT+SYSMFG write whose echo differs is filled and handed to the caller with the echoed name', async () => {
    const t = new ScriptedTransport(
      garblingModule('AT+SYSMFG=2', 'AT+SYSMFG=2,"client_cert","client_cert.1",8,4', (line, tr, state) => {
        if (line.startsWith('AT+SYSMFG=2')) {
          tr.reply('\r\nOK\r\n\r\n>');
          state.owed = 4;
        } else tr.reply('\r\nOK\r\n');
      }),
      false,
    );
    const session = await AtSession.connect(t, fast);
    const error = await session.command('AT+SYSMFG=2,"client_cert","client_cert.0",8,4', { data: Buffer.from('abcd') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EchoMismatchError);
    expect((error as EchoMismatchError).details).toMatchObject({ echoedCommand: 'AT+SYSMFG=2,"client_cert","client_cert.1",8,4', filledBytes: 4 });
    expect(t.transcript).not.toContain('abcd');
    expect(session.suspectEvents).toBe(1);
  });
});
