/**
 * RandomFaults: the configurable FaultInjector. Every knob draws from its own seeded stream, and
 * byte faults are placed by byte position (geometric gaps), so the same seed puts the same faults
 * at the same places however the bytes happen to be chunked.
 */
import type { CommandFault, FaultInjector, ResetFault } from '../fault-injection.js';
import { SECTOR_SIZE, type FlashCut, type FlashOperation } from '../nor-flash.js';
import {
  BYTE_KNOBS,
  COMMAND_KNOBS,
  formatFaultSpec,
  normalizeTrigger,
  type ByteKnob,
  type CommandKnob,
  type FaultKnob,
  type FaultOptions,
  type NormalizedTrigger,
} from './fault-options.js';
import { deriveSeed, Prng } from './prng.js';

/** Seed used when the options give none. */
export const DEFAULT_FAULT_SEED = 1;

/** Only erases can lose power half-way through an erase. */
const ERASE_COMMAND = 'AT+SYSFLASH=0,';

type Direction = 'in' | 'out';

/** Where one byte knob strikes next in one direction's stream. */
class ByteSchedule {
  private nextRandom: number;
  private atIndex = 0;

  constructor(
    readonly knob: ByteKnob,
    readonly action: 'drop' | 'corrupt',
    private readonly trigger: NormalizedTrigger,
    readonly prng: Prng,
  ) {
    this.nextRandom = trigger.p > 0 ? prng.geometric(trigger.p) - 1 : Number.POSITIVE_INFINITY;
  }

  /** Position of the next faulty byte. */
  peek(): number {
    return Math.min(this.nextRandom, this.trigger.at[this.atIndex] ?? Number.POSITIVE_INFINITY);
  }

  /** Consume the fault at `position` (= peek()). */
  take(position: number): void {
    if (this.nextRandom === position) this.nextRandom = position + this.prng.geometric(this.trigger.p);
    while (this.trigger.at[this.atIndex] === position) this.atIndex++;
  }
}

class CommandRule {
  /** Matching command lines seen so far. */
  seen = 0;

  constructor(
    readonly knob: CommandKnob,
    readonly trigger: NormalizedTrigger,
    readonly prng: Prng,
  ) {}

  applies(line: string): boolean {
    if (this.knob === 'powerCut' && !line.startsWith(ERASE_COMMAND)) return false;
    return this.trigger.match === undefined || line.includes(this.trigger.match);
  }

  /** Count the line and decide (always draws, so each knob's stream depends only on its own lines). */
  fires(): boolean {
    this.seen++;
    const drawn = this.trigger.p > 0 && this.prng.next() < this.trigger.p;
    return drawn || this.trigger.at.includes(this.seen);
  }
}

export class RandomFaults implements FaultInjector {
  readonly seed: number;
  readonly options: Readonly<FaultOptions>;
  /** How often each knob fired (bytes for byte knobs, commands for command knobs). */
  readonly counts: Record<FaultKnob, number>;
  /** Bytes seen in each direction. */
  readonly bytes: Record<Direction, number> = { in: 0, out: 0 };
  private readonly schedules: Record<Direction, ByteSchedule[]> = { in: [], out: [] };
  private readonly rules: CommandRule[] = [];

  constructor(options: FaultOptions = {}) {
    this.seed = (options.seed ?? DEFAULT_FAULT_SEED) >>> 0;
    this.options = { ...options, seed: this.seed };
    this.counts = Object.fromEntries([...BYTE_KNOBS, ...COMMAND_KNOBS].map((k) => [k, 0])) as Record<FaultKnob, number>;
    for (const knob of BYTE_KNOBS) {
      const given = options[knob];
      if (given === undefined) continue;
      const trigger = normalizeTrigger(knob, given);
      const action = knob.startsWith('drop') ? 'drop' : 'corrupt';
      const directions: Direction[] = knob.endsWith('In') ? ['in'] : knob.endsWith('Out') ? ['out'] : ['in', 'out'];
      for (const dir of directions) {
        this.schedules[dir].push(new ByteSchedule(knob, action, trigger, new Prng(deriveSeed(this.seed, `${knob}/${dir}`))));
      }
    }
    for (const knob of COMMAND_KNOBS) {
      const given = options[knob];
      if (given === undefined) continue;
      this.rules.push(new CommandRule(knob, normalizeTrigger(knob, given), new Prng(deriveSeed(this.seed, knob))));
    }
  }

  /** The knobs in `faults=` URL syntax, e.g. `drop:0.001,busy:0.01` (the seed goes in `faultSeed=`). */
  describe(): string {
    return formatFaultSpec(this.options);
  }

  /** Total number of faults injected so far. */
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  filterInput(chunk: Buffer): Buffer | null {
    return this.filter(chunk, 'in');
  }

  filterOutput(chunk: Buffer): Buffer | null {
    return this.filter(chunk, 'out');
  }

  onCommand(line: string): CommandFault | undefined {
    let fault: CommandFault | undefined;
    for (const rule of this.rules) {
      if (!rule.applies(line) || !rule.fires() || fault) continue;
      this.counts[rule.knob]++;
      fault = this.faultFor(rule);
    }
    return fault;
  }

  private faultFor(rule: CommandRule): CommandFault {
    switch (rule.knob) {
      case 'busy':
      case 'error':
      case 'silent':
      case 'disconnect':
        return { kind: rule.knob };
      case 'powerCut': {
        const fraction = rule.prng.next();
        const tornSeed = rule.prng.seed();
        return { kind: 'reset', flashCut: (op, _address, length) => (op === 'erase' ? cutErase(length, fraction, tornSeed) : undefined) };
      }
      case 'reset': {
        const phase = rule.prng.int(3);
        const fraction = rule.prng.next();
        const tornSeed = rule.prng.seed();
        const fault: ResetFault = { kind: 'reset' };
        if (phase === 0) fault.afterDataBytes = (length) => Math.min(length - 1, Math.floor(fraction * length));
        if (phase === 1) fault.flashCut = (op, _address, length) => cut(op, length, fraction, tornSeed);
        return fault;
      }
    }
  }

  private filter(chunk: Buffer, dir: Direction): Buffer | null {
    const start = this.bytes[dir];
    const end = start + chunk.length;
    this.bytes[dir] = end;
    let drops: Set<number> | undefined;
    let xors: Map<number, number> | undefined;
    for (const schedule of this.schedules[dir]) {
      for (let position = schedule.peek(); position < end; position = schedule.peek()) {
        schedule.take(position);
        this.counts[schedule.knob]++;
        if (schedule.action === 'drop') (drops ??= new Set()).add(position - start);
        else (xors ??= new Map()).set(position - start, 1 + schedule.prng.int(255));
      }
    }
    if (!drops && !xors) return chunk;
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      if (drops?.has(i)) continue;
      out.push(chunk[i]! ^ (xors?.get(i) ?? 0));
    }
    return out.length === 0 ? null : Buffer.from(out);
  }
}

function cut(op: FlashOperation, length: number, fraction: number, tornSeed: number): FlashCut {
  return op === 'erase' ? cutErase(length, fraction, tornSeed) : { done: Math.floor(fraction * length) };
}

/**
 * Power gone part-way through an erase: whole sectors before the cut are erased, the sector being
 * erased when it happened has only some of its bits back at 1, the rest is untouched.
 */
function cutErase(length: number, fraction: number, tornSeed: number): FlashCut {
  const sectors = Math.max(1, Math.ceil(length / SECTOR_SIZE));
  const done = Math.min(length, Math.floor(fraction * sectors) * SECTOR_SIZE);
  const tornLength = Math.min(SECTOR_SIZE, length - done);
  const prng = new Prng(tornSeed);
  const torn = Buffer.alloc(tornLength);
  // Each byte gets a random subset of its bits erased (1), about half of them.
  for (let i = 0; i < tornLength; i++) torn[i] = prng.int(256);
  return { done, torn };
}
