/** The options `generate` takes for NVS images (--format nvs / mfg-nvs). Light: registration only. */
import { Option, type Command } from 'commander';

export interface NvsGenerateOptions {
  /** --format nvs: the generator's CSV. */
  csv?: string;
  /** Partition size in bytes (decimal or 0x hex). */
  size?: string;
  /** Multipage blobs: 2 (default) or 1. */
  nvsVersion?: string;
  /** --format mfg-nvs: factory_param values, as the generator's CSV. */
  factoryParam?: string;
}

/** The NVS options given, as flags (refused with the other formats). */
export function nvsOptionsUsed(options: NvsGenerateOptions): string[] {
  const flags: Record<keyof NvsGenerateOptions, string> = { csv: '--csv', size: '--size', nvsVersion: '--nvs-version', factoryParam: '--factory-param' };
  return (Object.keys(flags) as (keyof NvsGenerateOptions)[]).filter((name) => options[name] !== undefined).map((name) => flags[name]);
}

export function addNvsGenerateOptions(command: Command): void {
  command
    .option('--csv <file>', 'nvs: the key,type,encoding,value CSV of nvs_partition_gen.py; esp-secure-cert: the CSV of configure_esp_secure_cert.py (file paths relative to its folder)')
    .option('--size <bytes>', 'nvs, mfg-nvs: partition size, a multiple of 4096 (mfg-nvs default: 0x1C000)')
    .addOption(new Option('--nvs-version <n>', 'nvs, mfg-nvs: 2 = multipage blobs (default), 1 = one-entry blobs of up to 1984 bytes').choices(['1', '2']))
    .option('--factory-param <file>', 'mfg-nvs: factory_param values, as key,type,encoding,value CSV rows');
}

export const NVS_HELP = `
--format nvs --csv FILE.csv --size BYTES [--nvs-version 1|2]:
  An NVS partition image (ESP-IDF non-volatile storage), byte for byte as Espressif's
  nvs_partition_gen.py 0.2.0 'generate' writes it from the same CSV (no encryption). CSV rows:
  key,type,encoding,value; type namespace, data or file (a path relative to the CSV's folder);
  encodings u8 i8 u16 i16 u32 i32 u64 i64, string, hex2bin, base64, binary, blob_fill(N;0xPP),
  blob_sz_fill(N;0xPP). Errors name the CSV line. Default output: the CSV's name with .bin.

--format mfg-nvs --from RAW_DATA [--size 0x1C000] [--factory-param FILE.csv]:
  ESP-AT's mfg_nvs partition (ESP-AT >= 3.1) from its raw_data folder: each PKI namespace folder
  (client_cert, client_key, client_ca, server_*, mqtt_*, wpa2_*, wss_*, https_*) becomes a
  namespace, its files (sorted) binary keys named as the firmware reads them: <ns>.0, <ns>.1...
  for client/wss/https, the namespace name for the others. Other folders are ignored. Note:
  ESP-AT's own mfg_nvs.py names a folder's single file after the namespace (key client_cert), which
  the firmware does not find; at-pki writes client_cert.0. Certificates and keys are validated per
  group (client_*, server_*...) unless --no-validate. Default output: mfg_nvs.bin. Write it with
  'at-pki update --port P mfg_nvs --bin mfg_nvs.bin'.`;
