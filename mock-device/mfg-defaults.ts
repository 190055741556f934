/**
 * What `mfg_nvs` holds on a module fresh from the factory (`mfg: 'default'`): a `factory_param`
 * namespace and ESP-AT's example PKI entries (protocol doc §3.3, §8). Namespace order follows the
 * `AT+SYSMFG?` example of the ESP-AT docs; client_* carry two indexed keys (`client_cert.0`,
 * `client_cert.1`, as the build script names two raw_data files), server_* and mqtt_* one key
 * named like the namespace.
 *
 * The certificate/key values are deterministic PEM-shaped placeholders of realistic size (the
 * base64 body is pseudo-random bytes, not DER); they are not Espressif's example files. The
 * factory_param keys and types follow the v4.x mfg_nvs.csv layout as far as known; the values
 * are the documented defaults (AT UART pins per chip) or plausible ones.
 */
import { createHash } from 'node:crypto';
import type { ChipName } from './firmware-presets.js';
import { MfgType, encodeNumber, type MfgNumericType, type MfgValueType } from './mfg-store.js';

/** Initial mfg_nvs content: `default` (factory content) or `empty`. */
export type MfgContent = 'default' | 'empty';

export const MFG_CONTENTS: readonly MfgContent[] = ['default', 'empty'];

export interface MfgSeedEntry {
  readonly namespace: string;
  readonly key: string;
  readonly type: MfgValueType;
  readonly bytes: Buffer;
}

interface UartPins {
  tx: number;
  rx: number;
  cts: number;
  rts: number;
}

/** AT UART pins (protocol doc §4: ESP32 WROOM TX17/RX16, C3/C2 TX7/RX6). */
const PINS: Partial<Record<ChipName, UartPins>> = {
  esp32: { tx: 17, rx: 16, cts: 15, rts: 14 },
  esp32c3: { tx: 7, rx: 6, cts: 5, rts: 4 },
  esp32c2: { tx: 7, rx: 6, cts: 5, rts: 4 },
  'esp32c2-2mb': { tx: 7, rx: 6, cts: 5, rts: 4 },
  esp32c6: { tx: 7, rx: 6, cts: 5, rts: 4 },
};

const MODULE_NAME: Partial<Record<ChipName, string>> = {
  esp32: 'WROOM-32',
  esp32c3: 'MINI-1',
  esp32c2: 'ESP32C2-4MB',
  'esp32c2-2mb': 'ESP32C2-2MB',
  esp32c6: 'ESP32C6-4MB',
};

/** Deterministic PEM text with a `derBytes`-byte pseudo-random body. */
export function placeholderPem(label: string, seed: string, derBytes: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < derBytes; i++) {
    parts.push(createHash('sha256').update(`${seed}#${i}`).digest());
  }
  const b64 = Buffer.concat(parts).subarray(0, derBytes).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return Buffer.from(`-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`, 'latin1');
}

const CERT = 'CERTIFICATE';
const KEY = 'RSA PRIVATE KEY';

/** The factory content for a chip, in storage order. */
export function defaultMfgContent(chip: ChipName): MfgSeedEntry[] {
  const pins = PINS[chip] ?? { tx: 7, rx: 6, cts: 5, rts: 4 };
  const num = (key: string, type: MfgNumericType, value: number): MfgSeedEntry => ({
    namespace: 'factory_param',
    key,
    type,
    bytes: encodeNumber(type, value),
  });
  const str = (key: string, value: string): MfgSeedEntry => ({
    namespace: 'factory_param',
    key,
    type: MfgType.STRING,
    bytes: Buffer.from(value, 'latin1'),
  });
  const blob = (namespace: string, key: string, label: string, derBytes: number): MfgSeedEntry => ({
    namespace,
    key,
    type: MfgType.BINARY,
    bytes: placeholderPem(label, `at-pki mock-device ${namespace}/${key}`, derBytes),
  });
  return [
    str('module_name', MODULE_NAME[chip] ?? 'MINI-1'),
    num('tx_max_power', MfgType.I8, 78),
    num('start_channel', MfgType.U8, 1),
    num('channel_num', MfgType.U8, 13),
    str('country_code', 'CN'),
    num('uart_port', MfgType.I8, 1),
    num('uart_baudrate', MfgType.I32, 115200),
    num('uart_tx_pin', MfgType.I32, pins.tx),
    num('uart_rx_pin', MfgType.I32, pins.rx),
    num('uart_cts_pin', MfgType.I32, pins.cts),
    num('uart_rts_pin', MfgType.I32, pins.rts),
    blob('client_cert', 'client_cert.0', CERT, 873),
    blob('client_cert', 'client_cert.1', CERT, 869),
    blob('client_key', 'client_key.0', KEY, 1191),
    blob('client_key', 'client_key.1', KEY, 1192),
    blob('client_ca', 'client_ca.0', CERT, 846),
    blob('client_ca', 'client_ca.1', CERT, 852),
    blob('server_cert', 'server_cert', CERT, 861),
    blob('server_key', 'server_key', KEY, 1193),
    blob('server_ca', 'server_ca', CERT, 848),
    blob('mqtt_cert', 'mqtt_cert', CERT, 875),
    blob('mqtt_key', 'mqtt_key', KEY, 1190),
    blob('mqtt_ca', 'mqtt_ca', CERT, 850),
  ];
}
