import { quoteAnswerLine } from '../at/syntax.js';
import { ProtocolError } from '../errors.js';

/** One row of the module's at_customize table, as `AT+SYSFLASH?` reports it. */
export interface Partition {
  label: string;
  /** 64 (0x40) for ESP-AT user partitions, 1 for data partitions (mfg_nvs, fatfs). */
  type: number;
  subtype: number;
  address: number;
  size: number;
}

/** Flash erase unit. Erase offsets and lengths must be multiples of it (protocol §2.4). */
export const SECTOR_SIZE = 4096;

const LINE = /^\+SYSFLASH:"((?:[^"\\]|\\.)*)",(\d+),(\d+),0x([0-9a-fA-F]+),0x([0-9a-fA-F]+)$/;

/**
 * Parse the answer to `AT+SYSFLASH?`: one `+SYSFLASH:"<label>",<type>,<subtype>,0x<addr>,0x<size>`
 * line per partition (protocol §2.2). Anything else is garbage and rejected, so a confused line
 * never turns into a partition we would write to.
 */
export function parsePartitionTable(lines: readonly string[]): Partition[] {
  return lines.map((line) => {
    const match = LINE.exec(line);
    if (!match) throw new ProtocolError(`unexpected line in the AT+SYSFLASH? answer: ${quoteAnswerLine(line)}`);
    return {
      label: match[1]!.replace(/\\(.)/g, '$1'),
      type: Number(match[2]),
      subtype: Number(match[3]),
      address: Number.parseInt(match[4]!, 16),
      size: Number.parseInt(match[5]!, 16),
    };
  });
}
