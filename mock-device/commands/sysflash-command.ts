/**
 * AT+SYSFLASH (protocol doc §2): query the user partition table, erase / write / read a
 * partition, with the firmware's quirks kept on purpose — `>`-only prompt, no timeout on the
 * payload, the range check that only warns on writes, NOR AND semantics, leftovers re-parsed.
 */
import type { AtArguments } from '../at-arguments.js';
import { SECTOR_SIZE } from '../nor-flash.js';
import { ErrorCode, WRITE_PROMPT, paramParseFailCode } from '../result-codes.js';
import type { CommandContext, CommandFamily, CommandResult } from './command-types.js';

const OP_ERASE = 0;
const OP_WRITE = 1;
const OP_READ = 2;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function query(ctx: CommandContext): CommandResult {
  for (const p of ctx.device.preset.partitions) {
    ctx.print(`+SYSFLASH:"${p.label}",${p.type},${p.subtype},${hex(p.offset)},${hex(p.size)}\r\n`);
  }
  return 'OK';
}

async function set(ctx: CommandContext, args: AtArguments): Promise<CommandResult> {
  // 1. operation
  const op = args.integer(0);
  if (op.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(0));
  if (op.kind !== 'ok' || (op.value !== OP_ERASE && op.value !== OP_WRITE && op.value !== OP_READ)) return 'ERROR';
  // 2. partition label (string)
  const label = args.string(1);
  if (label.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(1));
  if (label.kind !== 'ok') return 'ERROR';
  // 3. parameter count: 4, or 2 for "erase the whole partition"
  const wholePartition = op.value === OP_ERASE && args.count === 2;
  if (args.count !== 4 && !wholePartition) return 'ERROR';
  let offset = 0;
  let length = 0;
  if (!wholePartition) {
    const o = args.integer(2);
    const l = args.integer(3);
    if (o.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(2));
    if (o.kind !== 'ok') return 'ERROR';
    if (l.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(3));
    if (l.kind !== 'ok') return 'ERROR';
    if (o.value < 0 || l.value < 0) return 'ERROR';
    offset = o.value;
    length = l.value;
  }
  // 4. partition lookup: by label only, exact match, before any prompt
  const partition = ctx.device.findPartition(label.value);
  if (!partition) {
    ctx.printErrorCode(ErrorCode.SYSFLASH_NO_PARTITION);
    return 'ERROR';
  }
  if (wholePartition) length = partition.size;
  const inRange = offset + length <= partition.size;
  const address = partition.offset + offset;
  const device = ctx.device;

  if (op.value === OP_ERASE) {
    if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) {
      ctx.printErrorCode(ErrorCode.SYSFLASH_RANGE_OR_ALIGNMENT);
      return 'ERROR';
    }
    if (!inRange) {
      ctx.printErrorCode(ErrorCode.SYSFLASH_ERASE_OR_ALLOC);
      return 'ERROR';
    }
    await ctx.sleep(device.eraseTimeMs(address, length));
    device.flash.erase(address, length);
    device.stats.flashBytesErased += length;
    if (length > 0) device.notifyFlashChanged();
    return 'OK';
  }

  // Write and read share the range check, which only warns (the firmware bug of §2.5).
  if (!inRange) ctx.printErrorCode(ErrorCode.SYSFLASH_RANGE_OR_ALIGNMENT);

  if (op.value === OP_WRITE) {
    if (length + 1 > device.preset.maxAllocBytes) {
      ctx.printErrorCode(ErrorCode.SYSFLASH_ERASE_OR_ALLOC);
      return 'ERROR';
    }
    const data = await ctx.receiveRaw(length, WRITE_PROMPT);
    if (!inRange) {
      ctx.printErrorCode(ErrorCode.SYSFLASH_IO);
      return 'ERROR';
    }
    await ctx.sleep(device.programTimeMs(address, length));
    device.flash.program(address, data);
    device.stats.flashBytesWritten += length;
    if (length > 0) device.notifyFlashChanged();
    return 'OK';
  }

  // Read
  // The buffer holds spare bytes for the `+SYSFLASH:<n>,` header in front of the data.
  if (length + device.preset.readHeaderReserve > device.preset.maxAllocBytes) {
    ctx.printErrorCode(ErrorCode.SYSFLASH_ERASE_OR_ALLOC);
    return 'ERROR';
  }
  if (!inRange) {
    ctx.printErrorCode(ErrorCode.SYSFLASH_IO);
    return 'ERROR';
  }
  const data = device.flash.read(address, length);
  // Header and raw data; the result's own leading CR LF follows directly.
  ctx.print(`+SYSFLASH:${length},`);
  ctx.print(data);
  device.stats.flashBytesRead += length;
  return 'OK';
}

export const sysflashCommands: CommandFamily = [{ name: '+SYSFLASH', query, set }];
