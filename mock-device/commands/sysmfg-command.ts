/**
 * AT+SYSMFG (protocol doc §3): the manufacturing NVS of v3.1+ firmware. Only presets with an
 * `mfg_nvs` partition have this family; on legacy presets the command is unknown (ERROR).
 *
 * | Command                                         | Response                                          |
 * |-------------------------------------------------|---------------------------------------------------|
 * | `AT+SYSMFG?` / `AT+SYSMFG=1`                    | `+SYSMFG:"<ns>"` per namespace, OK                 |
 * | `AT+SYSMFG=1,"<ns>"`                            | `+SYSMFG:"<ns>","<key>",<type>` per key, OK        |
 * | `AT+SYSMFG=1,"<ns>","<key>"[,<off>,<len>]`      | numeric `…,<type>,<len>,<value>\r\n`; string/blob `…,<type>,<len>,` + raw + `\r\n`; OK |
 * | `AT+SYSMFG=0,"<ns>"[,"<key>"]`                  | OK (missing key → ERROR)                           |
 * | `AT+SYSMFG=2,"<ns>","<key>",<1-6>,<value>`      | OK                                                 |
 * | `AT+SYSMFG=2,"<ns>","<key>",<7|8>,<len>`        | `\r\nOK\r\n\r\n>`, `<len>` raw bytes, OK / ERROR   |
 *
 * Modelling choices where the doc is silent: listing the keys of a namespace that has none is
 * plain OK; erasing a namespace that has no keys is OK; a read with `<offset>,<length>` must stay
 * inside the value (offset+length > size → ERROR, no clamping) and ignores them for numeric types;
 * bad parameter counts/values are plain ERROR (unparsable numbers print 0x0108000N with SYSLOG).
 */
import type { AtArguments } from '../at-arguments.js';
import {
  MfgType,
  encodeNumber,
  isMfgValueType,
  isNumericType,
  type MfgStore,
  type MfgValueType,
} from '../mfg-store.js';
import { MFG_NVS_LABEL } from '../partition-tables.js';
import { MFG_WRITE_PROMPT, paramParseFailCode } from '../result-codes.js';
import type { CommandContext, CommandFamily, CommandResult } from './command-types.js';

const OP_ERASE = 0;
const OP_READ = 1;
const OP_WRITE = 2;

/** Namespace and key: 1 … 15 characters (NVS_KEY_NAME_MAX_SIZE - 1). */
export const MFG_MAX_NAME_LENGTH = 15;
/** String/binary write length: 1 … 8191 (the firmware checks `len - 1 <= 0x1FFE`). */
export const MFG_MAX_VALUE_LENGTH = 8191;

function listNamespaces(ctx: CommandContext, store: MfgStore): CommandResult {
  for (const ns of store.namespaces()) ctx.print(`+SYSMFG:"${ns}"\r\n`);
  return 'OK';
}

function query(ctx: CommandContext): CommandResult {
  const store = ctx.device.loadMfgStore();
  if (!store) return 'ERROR';
  return listNamespaces(ctx, store);
}

/** Parameter `index` as a namespace/key name, or undefined (→ ERROR). */
function nameParam(ctx: CommandContext, args: AtArguments, index: number): string | undefined {
  const p = args.string(index);
  if (p.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(index));
  if (p.kind !== 'ok' || p.value.length === 0 || p.value.length > MFG_MAX_NAME_LENGTH) return undefined;
  return p.value;
}

/** Parameter `index` as an integer, or undefined (→ ERROR). */
function intParam(ctx: CommandContext, args: AtArguments, index: number): number | undefined {
  const p = args.integer(index);
  if (p.kind === 'invalid') ctx.printErrorCode(paramParseFailCode(index));
  return p.kind === 'ok' ? p.value : undefined;
}

async function set(ctx: CommandContext, args: AtArguments): Promise<CommandResult> {
  // The storage-mode check comes first: without a working mfg NVS everything is ERROR.
  const store = ctx.device.loadMfgStore();
  if (!store) return 'ERROR';
  const op = intParam(ctx, args, 0);
  if (op === undefined) return 'ERROR';
  switch (op) {
    case OP_READ:
      return read(ctx, args, store);
    case OP_ERASE:
      return erase(ctx, args, store);
    case OP_WRITE:
      return write(ctx, args, store);
    default:
      return 'ERROR';
  }
}

function read(ctx: CommandContext, args: AtArguments, store: MfgStore): CommandResult {
  if (args.count === 1) return listNamespaces(ctx, store);
  const ns = nameParam(ctx, args, 1);
  if (ns === undefined) return 'ERROR';
  if (args.count === 2) {
    for (const { key, type } of store.keys(ns)) ctx.print(`+SYSMFG:"${ns}","${key}",${type}\r\n`);
    return 'OK';
  }
  if (args.count !== 3 && args.count !== 5) return 'ERROR';
  const key = nameParam(ctx, args, 2);
  if (key === undefined) return 'ERROR';
  let offset: number | undefined;
  let length: number | undefined;
  if (args.count === 5) {
    offset = intParam(ctx, args, 3);
    if (offset === undefined) return 'ERROR';
    length = intParam(ctx, args, 4);
    if (length === undefined) return 'ERROR';
  }
  const item = store.get(ns, key);
  if (!item) return 'ERROR';
  const head = `+SYSMFG:"${ns}","${key}",${item.type},`;
  if (item.number !== undefined) {
    const text = String(item.number);
    ctx.print(`${head}${text.length},${text}\r\n`);
  } else {
    let bytes = item.bytes;
    if (offset !== undefined && length !== undefined) {
      if (offset < 0 || length < 1 || offset + length > bytes.length) return 'ERROR';
      bytes = bytes.subarray(offset, offset + length);
    }
    ctx.print(`${head}${bytes.length},`);
    ctx.print(bytes);
    ctx.print('\r\n');
  }
  ctx.device.stats.mfgReads++;
  return 'OK';
}

function erase(ctx: CommandContext, args: AtArguments, store: MfgStore): CommandResult {
  if (args.count !== 2 && args.count !== 3) return 'ERROR';
  const ns = nameParam(ctx, args, 1);
  if (ns === undefined) return 'ERROR';
  let changed: boolean;
  if (args.count === 2) {
    changed = store.eraseNamespace(ns) > 0;
  } else {
    const key = nameParam(ctx, args, 2);
    if (key === undefined) return 'ERROR';
    // nvs_erase_key on a missing key fails (ESP_ERR_NVS_NOT_FOUND) → ERROR.
    if (!store.eraseKey(ns, key)) return 'ERROR';
    changed = true;
  }
  const device = ctx.device;
  if (changed && !device.saveMfgStore(store)) return 'ERROR';
  device.stats.mfgErases++;
  if (changed) device.stats.mfgChanges++;
  return 'OK';
}

async function write(ctx: CommandContext, args: AtArguments, store: MfgStore): Promise<CommandResult> {
  if (args.count !== 5) return 'ERROR';
  const ns = nameParam(ctx, args, 1);
  if (ns === undefined) return 'ERROR';
  const key = nameParam(ctx, args, 2);
  if (key === undefined) return 'ERROR';
  const type = intParam(ctx, args, 3);
  if (type === undefined || !isMfgValueType(type)) return 'ERROR';
  const value = intParam(ctx, args, 4);
  if (value === undefined) return 'ERROR';

  if (isNumericType(type)) {
    // Stored at once; u8/i8/u16/i16 silently truncated to their width.
    return commit(ctx, store, ns, key, type, encodeNumber(type, value));
  }

  const length = value;
  if (length < 1 || length > MFG_MAX_VALUE_LENGTH) return 'ERROR';
  const data = await ctx.receiveRaw(length, MFG_WRITE_PROMPT, { leftover: 'busy' });
  // A string must not contain NUL: the firmware checks strlen(data) == <len>.
  if (type === MfgType.STRING && data.includes(0)) return 'ERROR';
  // Re-read: the flash is the store, and this is the state after the data arrived.
  const fresh = ctx.device.loadMfgStore();
  if (!fresh) return 'ERROR';
  return commit(ctx, fresh, ns, key, type, data);
}

async function commit(
  ctx: CommandContext,
  store: MfgStore,
  ns: string,
  key: string,
  type: MfgValueType,
  bytes: Buffer,
): Promise<CommandResult> {
  const device = ctx.device;
  const changed = store.set(ns, key, type, bytes);
  if (changed) {
    const partition = device.findPartition(MFG_NVS_LABEL);
    // Also the cancellation point: after a restart the command stops here (sleep never settles).
    await ctx.sleep(partition ? device.programTimeMs(partition.offset, bytes.length) : 0);
    if (!device.saveMfgStore(store)) return 'ERROR';
  }
  device.stats.mfgWrites++;
  device.stats.mfgBytesWritten += bytes.length;
  if (changed) device.stats.mfgChanges++;
  return 'OK';
}

export const sysmfgCommands: CommandFamily = [{ name: '+SYSMFG', query, set }];
