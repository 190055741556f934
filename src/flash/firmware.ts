/** What `AT+GMR` says about the module's firmware (protocol §4). */
export interface FirmwareInfo {
  /** `AT version:` as four numbers, e.g. [2, 4, 0, 0]; undefined if the line is missing or odd. */
  atVersion: [number, number, number, number] | undefined;
  /** The whole `AT version:` line's value, e.g. `2.4.0.0(4c6eb5e - ESP32C3 - May 20 2022 03:12:58)`. */
  atVersionText: string | undefined;
  sdkVersion: string | undefined;
  binVersion: string | undefined;
  /** All lines as the module printed them. */
  lines: string[];
}

export function parseFirmwareInfo(lines: readonly string[]): FirmwareInfo {
  const value = (prefix: string): string | undefined => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length).trim();
  const atVersionText = value('AT version:');
  const numbers = atVersionText && /^(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(atVersionText);
  return {
    atVersion: numbers ? [Number(numbers[1]), Number(numbers[2]), Number(numbers[3]), Number(numbers[4])] : undefined,
    atVersionText,
    sdkVersion: value('SDK version:'),
    binVersion: value('Bin version:'),
    lines: [...lines],
  };
}

export function formatVersion(version: readonly number[] | undefined): string {
  return version ? version.join('.') : 'unknown';
}
