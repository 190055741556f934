import { describe, expect, it } from 'vitest';
import { AtFramer, sysflashReadPayload, type PayloadMatcher, type Token } from '../../src/at/framer.js';

/** Recorded answers (protocol §1, §2.5, §2.6, §3.2), with how the session arms the framer for them. */
interface Transcript {
  name: string;
  bytes: Buffer;
  prompt?: boolean;
  payload?: PayloadMatcher;
  expected: Token[];
}

const line = (text: string): Token => ({ kind: 'line', text });
const binaryWithTraps = Buffer.from('\r\nOK\r\n>\r\nERROR\r\n\x00\xff+SYSFLASH:4,', 'latin1');

const sysmfgPayload: PayloadMatcher = {
  prefix: '+SYSMFG:',
  parse(text) {
    const match = /^\+SYSMFG:"[^"]*","[^"]*",[78],(\d+),/.exec(text);
    return match ? { headerLength: match[0].length, payloadLength: Number(match[1]) } : undefined;
  },
};

const transcripts: Transcript[] = [
  {
    name: 'boot, echoed AT, OK',
    bytes: Buffer.from('\r\nready\r\nAT\r\n\r\nOK\r\n', 'latin1'),
    expected: [line('ready'), line('AT'), line('OK')],
  },
  {
    name: 'partition table',
    bytes: Buffer.from('+SYSFLASH:"ble_data",64,1,0x21000,0x3000\r\n+SYSFLASH:"client_cert",64,5,0x2a000,0x2000\r\n\r\nOK\r\n', 'latin1'),
    expected: [line('+SYSFLASH:"ble_data",64,1,0x21000,0x3000'), line('+SYSFLASH:"client_cert",64,5,0x2a000,0x2000'), line('OK')],
  },
  {
    name: 'write: echo, bare prompt, then OK',
    bytes: Buffer.from('AT+SYSFLASH=1,"client_cert",0,8\r\n>\r\nOK\r\n', 'latin1'),
    prompt: true,
    expected: [line('AT+SYSFLASH=1,"client_cert",0,8'), { kind: 'prompt' }, line('OK')],
  },
  {
    name: 'write past the end: error code, prompt anyway, ERROR',
    bytes: Buffer.from('ERR CODE:0x010a0001\r\n>ERR CODE:0x010a0003\r\n\r\nERROR\r\n', 'latin1'),
    prompt: true,
    expected: [line('ERR CODE:0x010a0001'), { kind: 'prompt' }, line('ERR CODE:0x010a0003'), line('ERROR')],
  },
  {
    name: 'SYSMFG prompt: OK, blank line, >',
    bytes: Buffer.from('\r\nOK\r\n\r\n>\r\nOK\r\n', 'latin1'),
    prompt: true,
    expected: [line('OK'), { kind: 'prompt' }, line('OK')],
  },
  {
    name: 'read: binary payload containing CR LF, OK, > and a fake header',
    bytes: Buffer.concat([Buffer.from(`+SYSFLASH:${binaryWithTraps.length},`, 'latin1'), binaryWithTraps, Buffer.from('\r\nOK\r\n', 'latin1')]),
    payload: sysflashReadPayload,
    expected: [{ kind: 'payload', header: `+SYSFLASH:${binaryWithTraps.length},`, bytes: binaryWithTraps }, line('OK')],
  },
  {
    name: 'read with echo and a URC before it',
    bytes: Buffer.concat([
      Buffer.from('AT+SYSFLASH=2,"client_ca",0,4\r\nWIFI DISCONNECT\r\n+SYSFLASH:4,', 'latin1'),
      Buffer.from([0x3e, 0x0d, 0x0a, 0xff]),
      Buffer.from('\r\nOK\r\n', 'latin1'),
    ]),
    payload: sysflashReadPayload,
    expected: [
      line('AT+SYSFLASH=2,"client_ca",0,4'),
      line('WIFI DISCONNECT'),
      { kind: 'payload', header: '+SYSFLASH:4,', bytes: Buffer.from([0x3e, 0x0d, 0x0a, 0xff]) },
      line('OK'),
    ],
  },
  {
    name: 'SYSMFG binary read ending in its own CR LF',
    bytes: Buffer.from('+SYSMFG:"client_cert","client_cert.0",8,5,ab\r\n>\r\n\r\nOK\r\n', 'latin1'),
    payload: sysmfgPayload,
    expected: [{ kind: 'payload', header: '+SYSMFG:"client_cert","client_cert.0",8,5,', bytes: Buffer.from('ab\r\n>', 'latin1') }, line('OK')],
  },
  {
    name: 'read refused: no payload, error code and ERROR',
    bytes: Buffer.from('ERR CODE:0x010a0001\r\nERR CODE:0x010a0003\r\n\r\nERROR\r\n', 'latin1'),
    payload: sysflashReadPayload,
    expected: [line('ERR CODE:0x010a0001'), line('ERR CODE:0x010a0003'), line('ERROR')],
  },
  {
    name: 'busy answer',
    bytes: Buffer.from('ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n', 'latin1'),
    expected: [line('ERR CODE:0x010b0000'), line('busy p...')],
  },
];

function run(t: Transcript, chunks: Buffer[]): Token[] {
  const tokens: Token[] = [];
  const framer = new AtFramer((token) => tokens.push(token));
  if (t.prompt) framer.expectPrompt(true);
  if (t.payload) framer.expectPayload(t.payload);
  for (const chunk of chunks) framer.push(chunk);
  return tokens;
}

describe('AtFramer', () => {
  for (const t of transcripts) {
    it(`${t.name}: whole, byte by byte, and at every split into two and three chunks`, () => {
      expect(run(t, [t.bytes])).toEqual(t.expected);
      expect(run(t, [...t.bytes].map((b) => Buffer.from([b])))).toEqual(t.expected);
      const n = t.bytes.length;
      for (let i = 1; i < n; i++) {
        expect(run(t, [t.bytes.subarray(0, i), t.bytes.subarray(i)]), `split at ${i}`).toEqual(t.expected);
        for (let j = i + 1; j < n; j++) {
          const tokens = run(t, [t.bytes.subarray(0, i), t.bytes.subarray(i, j), t.bytes.subarray(j)]);
          if (JSON.stringify(tokens) !== JSON.stringify(t.expected)) {
            expect(tokens, `split at ${i} and ${j}`).toEqual(t.expected);
          }
        }
      }
    });
  }

  it('treats ">" as text when no prompt is expected', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.push(Buffer.from('>\r\nOK\r\n'));
    expect(tokens).toEqual([line('>'), line('OK')]);
  });

  it('fires the prompt once, then reads a later ">" as text', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.expectPrompt(true);
    framer.push(Buffer.from('>>\r\n'));
    expect(tokens).toEqual([{ kind: 'prompt' }, line('>')]);
  });

  it('does not take a table line for a read header', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.expectPayload(sysflashReadPayload);
    framer.push(Buffer.from('+SYSFLASH:"client_cert",64,5,0x2a000,0x2000\r\n'));
    expect(tokens).toEqual([line('+SYSFLASH:"client_cert",64,5,0x2a000,0x2000')]);
  });

  it('emits a zero-length payload', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.expectPayload(sysflashReadPayload);
    framer.push(Buffer.from('+SYSFLASH:0,\r\nOK\r\n'));
    expect(tokens).toEqual([{ kind: 'payload', header: '+SYSFLASH:0,', bytes: Buffer.alloc(0) }, line('OK')]);
  });

  it('reports a payload in progress and forgets it on reset', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.expectPayload(sysflashReadPayload);
    framer.push(Buffer.from('+SYSFLASH:10,abc'));
    expect(framer.collectingPayload).toBe(true);
    framer.reset();
    expect(framer.collectingPayload).toBe(false);
    framer.push(Buffer.from('OK\r\n'));
    expect(tokens).toEqual([line('OK')]);
  });

  it('flushes an endless line instead of buffering forever', () => {
    const tokens: Token[] = [];
    const framer = new AtFramer((token) => tokens.push(token));
    framer.push(Buffer.alloc(70 * 1024, 0x41));
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.kind).toBe('line');
  });
});
