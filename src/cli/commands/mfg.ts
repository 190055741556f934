/** `at-pki mfg list|read|write|erase`: the key-value pairs of mfg_nvs (ESP-AT ≥ 3.1, AT+SYSMFG). */
import type { Command } from 'commander';
import { InputError, UsageError, VerifyError } from '../../errors.js';
import type { EspAtModule } from '../../flash/module.js';
import type { MfgTypeName } from '../../flash/sysmfg.js';
import { addDeviceOptions, type DeviceOptions } from '../device-options.js';
import type { CliIo } from '../io.js';
import { addExamples, printResult } from '../output.js';
import { formatTable } from '../table.js';

/** The keys of MFG_TYPES (flash/sysmfg.ts), for --help without loading the implementation. */
const TYPE_NAMES = 'u8, i8, u16, i16, u32, i32, string, binary';

/** What the mfg commands run on, loaded when one runs. */
async function loadMfg() {
  const [runner, sysmfg, files, atomic] = await Promise.all([
    import('../operation-runner.js'),
    import('../../flash/sysmfg.js'),
    import('../../flash/regular-file.js'),
    import('../write-file-atomic.js'),
  ]);
  return { ...runner, ...sysmfg, ...files, ...atomic };
}

/** SYSMFG on a module without mfg_nvs answers ERROR: say what is wrong instead. */
async function requireMfg(module: EspAtModule, signal: AbortSignal): Promise<void> {
  if ((await module.storageMode({ signal })) !== 'mfg_nvs') {
    throw new InputError(
      `the module on ${module.url} keeps credentials in partitions (ESP-AT ${module.firmware.atVersionText ?? 'before 3.1'}), not in mfg_nvs: use 'update', 'read' and 'write' with a partition name`,
    );
  }
}

export function registerMfg(program: Command, io: CliIo): void {
  const mfg = program
    .command('mfg')
    .summary('list, read, write or erase key-value pairs of mfg_nvs (ESP-AT 3.1+)')
    .description('The manufacturing NVS of ESP-AT 3.1 and later (AT+SYSMFG): namespaces, keys and values. Names are at most 15 characters; string and binary values 1 to 8191 bytes.');

  const list = mfg.command('list').description('list the namespaces, or the keys of a namespace with their types').argument('[namespace]');
  addDeviceOptions(list);
  addExamples(list, ['at-pki mfg list --port /dev/ttyUSB0', 'at-pki mfg list --port /dev/ttyUSB0 client_cert']);
  list.action(async (namespace: string | undefined, options: DeviceOptions) => {
    const { runOperation, listNamespaces, listKeys, typeName } = await loadMfg();
    const result = await runOperation(io, { name: 'mfg list' }, options, async ({ module, signal }) => {
      await requireMfg(module, signal);
      if (namespace === undefined) return { namespaces: await listNamespaces(module.session, { signal }) };
      return { namespace, keys: (await listKeys(module.session, namespace, { signal })).map((k) => ({ key: k.key, type: typeName(k.type) })) };
    });
    const human = result.keys
      ? formatTable([{ header: 'key' }, { header: 'type' }], result.keys.map((k) => [k.key, k.type]))
      : (result.namespaces ?? []).join('\n');
    printResult(io, options.json, human, result);
  });

  const read = mfg
    .command('read')
    .description('read one value: numbers and strings are printed, binary values need -o FILE')
    .argument('<namespace>')
    .argument('<key>')
    .option('-o, --output <file>', 'write the value to this file (created readable by the owner only)');
  addDeviceOptions(read);
  addExamples(read, ['at-pki mfg read --port /dev/ttyUSB0 client_cert client_cert.0 -o cert0.pem', 'at-pki mfg read --port /dev/ttyUSB0 factory_param uart_baudrate']);
  read.action(async (namespace: string, key: string, options: DeviceOptions & { output?: string }) => {
    const { runOperation, readValue, writeFileAtomic, MFG_TYPES, typeName } = await loadMfg();
    const value = await runOperation(io, { name: 'mfg read' }, options, async ({ module, signal }) => {
      await requireMfg(module, signal);
      return readValue(module.session, namespace, key, { signal });
    });
    if (value.bytes && options.output) await writeFileAtomic(options.output, value.bytes, { mode: 0o600 });
    if (value.bytes && !options.output && value.type === MFG_TYPES.binary) {
      throw new UsageError(`${namespace}/${key} is a ${value.bytes.length}-byte binary value: give -o FILE to save it`);
    }
    const shown = value.number !== undefined ? String(value.number) : options.output ? `${value.bytes!.length} bytes written to ${options.output}` : value.bytes!.toString('latin1');
    printResult(io, options.json, shown, {
      namespace,
      key,
      type: typeName(value.type),
      ...(value.number !== undefined ? { value: value.number } : { length: value.bytes!.length, ...(options.output ? { output: options.output } : { value: value.bytes!.toString('latin1') }) }),
    });
  });

  const write = mfg
    .command('write')
    .description(`write one value: binary (default) or string from a file, or a number with --value`)
    .argument('<namespace>')
    .argument('<key>')
    .argument('[file]', 'the value, for string and binary types')
    .option('--type <type>', `value type: ${TYPE_NAMES} (default binary, or i32 with --value)`)
    .option('--value <n>', 'a number, for the numeric types');
  addDeviceOptions(write);
  addExamples(write, [
    'at-pki mfg write --port /dev/ttyUSB0 client_cert client_cert.0 device.crt',
    'at-pki mfg write --port /dev/ttyUSB0 factory_param country_code --type string cc.txt',
    'at-pki mfg write --port /dev/ttyUSB0 factory_param uart_baudrate --type i32 --value 115200',
  ]);
  write.action(async (namespace: string, key: string, file: string | undefined, options: DeviceOptions & { type?: string; value?: string }) => {
    const { runOperation, readRegularFile, writeBytes, writeNumber, readValue, MFG_TYPES, MFG_MAX_VALUE_LENGTH } = await loadMfg();
    const typeName_ = (options.type ?? (options.value !== undefined ? 'i32' : 'binary')) as MfgTypeName;
    const type = MFG_TYPES[typeName_];
    if (type === undefined) throw new UsageError(`--type must be one of ${Object.keys(MFG_TYPES).join(', ')}, got '${options.type}'`);
    let bytes: Buffer | undefined;
    let number: number | undefined;
    if (type >= MFG_TYPES.string) {
      if (file === undefined || options.value !== undefined) throw new UsageError(`a ${typeName_} value comes from a file: give <file>, not --value`);
      bytes = await readRegularFile(file, { maxBytes: MFG_MAX_VALUE_LENGTH, tooLarge: `AT+SYSMFG stores at most ${MFG_MAX_VALUE_LENGTH} bytes per key` });
    } else {
      if (options.value === undefined || file !== undefined) throw new UsageError(`a ${typeName_} value is given with --value N, not a file`);
      number = Number(options.value);
      if (!/^-?\d+$/.test(options.value.trim())) throw new UsageError(`--value must be a whole number, got '${options.value}'`);
    }
    const result = await runOperation(io, { name: 'mfg write' }, options, async ({ module, signal }) => {
      await requireMfg(module, signal);
      if (bytes) await writeBytes(module.session, namespace, key, type as 7 | 8, bytes, { signal });
      else await writeNumber(module.session, namespace, key, type, number!, { signal });
      const back = await readValue(module.session, namespace, key, { signal });
      const same = bytes ? back.bytes?.equals(bytes) === true : back.number === number;
      if (!same) throw new VerifyError(`verification failed: ${namespace}/${key} does not read back as written`, { details: { deviceState: `modified: ${namespace}/${key} holds something else` } });
      return { namespace, key, type: typeName_, ...(bytes ? { length: bytes.length } : { value: number }), verified: true };
    });
    printResult(io, options.json, `wrote ${namespace}/${key} (${typeName_}${bytes ? `, ${bytes.length} bytes` : ` ${number}`}); verified by reading back`, result);
  });

  const erase = mfg.command('erase').description('erase one key, or every key of a namespace').argument('<namespace>').argument('[key]');
  addDeviceOptions(erase);
  addExamples(erase, ['at-pki mfg erase --port /dev/ttyUSB0 client_cert client_cert.1', 'at-pki mfg erase --port /dev/ttyUSB0 client_ca']);
  erase.action(async (namespace: string, key: string | undefined, options: DeviceOptions) => {
    const { runOperation, eraseEntry } = await loadMfg();
    const result = await runOperation(io, { name: 'mfg erase' }, options, async ({ module, signal }) => {
      await requireMfg(module, signal);
      await eraseEntry(module.session, namespace, key, { signal });
      return { namespace, ...(key === undefined ? {} : { key }) };
    });
    printResult(io, options.json, key === undefined ? `erased every key of ${namespace}` : `erased ${namespace}/${key}`, result);
  });
}
