/**
 * Host-side cost per command, with the line out of the picture: a module that answers at once
 * (next event-loop turn), driven by the AtSession and by a bare loop. What is left is the host's own
 * CPU per command — what the session adds over the bare loop, in microseconds.
 */
import { EventEmitter } from 'node:events';
import { AtSession } from '../src/at/session.js';
import type { Partition } from '../src/flash/partition-table.js';
import { readChunk, writeChunk } from '../src/flash/sysflash.js';
import type { Transport } from '../src/transport/transport.js';
import { fixed, type Table } from './bench-support.js';

const OK = Buffer.from('\r\nOK\r\n', 'latin1');
const PROMPT = Buffer.from('>', 'latin1');

/** Answers SYSFLASH writes and reads (and anything else with OK) on the next turn. */
class InstantModule extends EventEmitter implements Transport {
  readonly url = 'instant://';
  readonly isOpen = true;
  baudRate = 115200;
  #owed = 0;
  readonly #reads = new Map<number, Buffer>();

  async write(data: Uint8Array): Promise<void> {
    if (this.#owed > 0) {
      this.#owed -= data.length;
      if (this.#owed <= 0) setImmediate(() => this.emit('data', OK));
      return;
    }
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
    const write = /^AT\+SYSFLASH=1,"[^"]*",\d+,(\d+)\r\n$/.exec(text);
    if (write) {
      this.#owed = Number(write[1]);
      setImmediate(() => this.emit('data', PROMPT));
      return;
    }
    const read = /^AT\+SYSFLASH=2,"[^"]*",\d+,(\d+)\r\n$/.exec(text);
    if (read) {
      const n = Number(read[1]);
      let answer = this.#reads.get(n);
      if (!answer) {
        answer = Buffer.concat([Buffer.from(`+SYSFLASH:${n},`), Buffer.alloc(n, 0xff), OK]);
        this.#reads.set(n, answer);
      }
      setImmediate(() => this.emit('data', answer));
      return;
    }
    setImmediate(() => this.emit('data', OK));
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.baudRate = baudRate;
  }

  async close(): Promise<void> {}
}

const PARTITION: Partition = { label: 'fatfs', type: 1, subtype: 129, address: 0, size: 1 << 20 };

async function bareWrites(count: number, data: Buffer): Promise<number> {
  const module = new InstantModule();
  let text = '';
  let waiter: { pattern: string; resolve: () => void } | undefined;
  module.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    if (waiter && text.includes(waiter.pattern)) {
      const w = waiter;
      waiter = undefined;
      text = '';
      w.resolve();
    }
  });
  const until = (pattern: string): Promise<void> => new Promise((resolve) => (waiter = { pattern, resolve }));
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    await module.write(Buffer.from(`AT+SYSFLASH=1,"fatfs",${(i % 256) * 4096},${data.length}\r\n`));
    await until('>');
    await module.write(data);
    await until('OK\r\n');
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / count;
}

async function sessionRun(count: number, op: (session: AtSession, i: number) => Promise<unknown>): Promise<number> {
  const session = await AtSession.connect(new InstantModule());
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) await op(session, i);
  const used = process.cpuUsage(cpu);
  session.dispose();
  return (used.user + used.system) / count;
}

export interface OverheadResult {
  commands: number;
  bareWriteUs: number;
  sessionWriteUs: number;
  sessionReadUs: number;
}

export async function benchOverhead(options: { quick: boolean }): Promise<{ table: Table; result: OverheadResult }> {
  const count = options.quick ? 2000 : 10000;
  const data = Buffer.alloc(4096, 0x5a);
  const write = (session: AtSession, i: number): Promise<void> => writeChunk(session, PARTITION, (i % 256) * 4096, data);
  // Best of three (the first also warms the code up), to keep GC pauses and the neighbours' load out.
  const best = async (f: () => Promise<number>): Promise<number> => Math.min(await f(), await f(), await f());
  const result: OverheadResult = {
    commands: count,
    bareWriteUs: await best(() => bareWrites(count, data)),
    sessionWriteUs: await best(() => sessionRun(count, write)),
    sessionReadUs: await best(() => sessionRun(count, (session, i) => readChunk(session, PARTITION, (i % 256) * 4096, 4096))),
  };
  const table: Table = {
    title: 'Host CPU per command (a module that answers at once; µs of CPU per 4 KiB SYSFLASH command)',
    header: ['path', 'µs per command', 'share of a 4 KiB chunk at 921600 baud'],
    rows: [
      ['bare loop, write', fixed(result.bareWriteUs, 1), pct(result.bareWriteUs)],
      ['AtSession write (writeChunk)', fixed(result.sessionWriteUs, 1), pct(result.sessionWriteUs)],
      ['AtSession read (readChunk)', fixed(result.sessionReadUs, 1), pct(result.sessionReadUs)],
    ],
    notes: ['A 4 KiB chunk spends 44.4 ms on the wire at 921600 baud (355 ms at 115200).'],
  };
  return { table, result };
}

function pct(us: number): string {
  return `${((us / 1000 / 44.4) * 100).toFixed(3)} %`;
}
