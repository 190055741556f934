import { EventEmitter } from 'node:events';
import { DisconnectedError } from '../../src/errors.js';
import type { Transport } from '../../src/transport/transport.js';

/**
 * A transport whose "module" is a script in the test: every write is handed to `respond`, which
 * answers by calling `reply`. For session behaviour the emulator cannot be made to show on demand
 * (a lost prompt, a reset mid-command, a module that goes silent).
 */
export class ScriptedTransport extends EventEmitter implements Transport {
  readonly url = 'scripted://module';
  baudRate = 115200;
  isOpen = true;
  readonly written: Buffer[] = [];

  /**
   * @param echo echo each command line written (or those the predicate picks; the module does not
   *   echo input it discards as busy) (one write starting with `AT`, ending in CR LF) before
   *   `respond` answers, as the module does with echo on (protocol §1).
   */
  constructor(
    private readonly respond: (bytes: Buffer, transport: ScriptedTransport) => void,
    private readonly echo: boolean | ((line: string) => boolean) = true,
  ) {
    super();
  }

  /** Bytes from the "module", delivered asynchronously like a real port. */
  reply(text: string | Buffer): void {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    setImmediate(() => this.isOpen && this.emit('data', bytes));
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new DisconnectedError('closed');
    const bytes = Buffer.from(data);
    this.written.push(bytes);
    const text = bytes.toString('latin1');
    const isLine = text.startsWith('AT') && text.endsWith('\r\n') && text.indexOf('\r\n') === text.length - 2;
    if (isLine && (typeof this.echo === 'function' ? this.echo(text.slice(0, -2)) : this.echo)) this.reply(bytes);
    this.respond(bytes, this);
  }

  /** Everything written so far, as text. */
  get transcript(): string {
    return Buffer.concat(this.written).toString('latin1');
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.baudRate = baudRate;
  }

  unplug(): void {
    this.isOpen = false;
    this.emit('close', new DisconnectedError('unplugged'));
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close');
  }
}

/** A module that answers AT, ATE0/ATE1 and AT+SYSLOG=1 with OK, and hands every other line to `other`. */
export function basicModule(other: (line: string, t: ScriptedTransport) => void = (_l, t) => t.reply('\r\nERROR\r\n')) {
  let pending = '';
  return (bytes: Buffer, t: ScriptedTransport): void => {
    pending += bytes.toString('latin1');
    let end;
    while ((end = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (line === 'AT' || line === 'ATE0' || line === 'ATE1' || line === 'AT+SYSLOG=1') t.reply('\r\nOK\r\n');
      else if (line !== '') other(line, t);
    }
  };
}
