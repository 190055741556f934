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

/** ESP-AT's user partition type (at_customize.csv `0x40`), printed as 64 by `AT+SYSFLASH?`. */
export const ESP_AT_USER_TYPE = 0x40;
/** esp_secure_cert_mgr's partition type; the reader looks for this type and the label `esp_secure_cert`. */
export const ESP_SECURE_CERT_TYPE = 0x3f;

/**
 * Does this partition hold credentials, i.e. is it a place `update` may write a PKI bin or an
 * esp_secure_cert image? ESP-AT's PKI partitions are type 0x40 with the label the firmware looks
 * them up by (`<feature>_cert`, `_key`, `_ca`: client, server, mqtt, wpa2, wss, https…). Their subtype
 * numbers differ between chips (client_cert is 5 on ESP32, 4 on ESP32-C2; on ESP8266 wpa2_cert shares
 * factory_param's 8), so the subtype cannot tell them apart from ble_data or factory_param: the label
 * does, as it does for the firmware (protocol §2.1, §6, §7). Plus esp_secure_cert (type 0x3F).
 * Not credentials: ble_data, factory_param, mfg_nvs, fatfs and anything else.
 */
export function isCredentialPartition(partition: Partition): boolean {
  if (partition.label === 'esp_secure_cert') return partition.type === ESP_SECURE_CERT_TYPE;
  return partition.type === ESP_AT_USER_TYPE && /^[a-z0-9]+_(cert|key|ca)$/.test(partition.label);
}
