/**
 * `state=<file>`: keep an emulator's flash in a file so separate runs (two CLI invocations
 * against `mock://...?state=/tmp/x.bin`) see the same flash. The file is a raw flash dump from
 * address 0 to the end of the last partition. Saves are debounced after each change and flushed
 * on detach and at process exit.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { EspAtEmulator } from './emulator.js';
import { MockDeviceError } from './errors.js';

/** Debounce for saves after a flash change. */
const SAVE_DELAY_MS = 50;

const attached = new Map<EspAtEmulator, FlashStateFile>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const file of attached.values()) file.flush();
  });
}

export class FlashStateFile {
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange = (): void => this.markDirty();

  private constructor(
    readonly path: string,
    readonly emulator: EspAtEmulator,
  ) {}

  /**
   * Attach `path` to `emulator`: load it when it exists (its size must match the chip's image),
   * otherwise create it from the current flash. Returns the existing attachment if there is one.
   */
  static attach(emulator: EspAtEmulator, path: string): FlashStateFile {
    const existing = attached.get(emulator);
    if (existing) return existing;
    const file = new FlashStateFile(path, emulator);
    if (existsSync(path)) {
      const image = readFileSync(path);
      if (image.length !== emulator.flash.size) {
        throw new MockDeviceError(
          'PORT_UNAVAILABLE',
          `state file ${path} holds ${image.length} bytes, a ${emulator.chip} image is ${emulator.flash.size}`,
        );
      }
      emulator.flash.load(image);
    } else {
      file.dirty = true;
      file.flush();
    }
    emulator.on('flashchange', file.onChange);
    attached.set(emulator, file);
    installExitHook();
    return file;
  }

  /** The state file attached to an emulator, if any. */
  static of(emulator: EspAtEmulator): FlashStateFile | undefined {
    return attached.get(emulator);
  }

  /** Write the image now if it changed since the last save. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    // Write-then-rename so a crash never leaves half an image behind.
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, this.emulator.flashImage());
    renameSync(temp, this.path);
  }

  /** Flush and stop following the emulator. */
  detach(): void {
    this.emulator.off('flashchange', this.onChange);
    attached.delete(this.emulator);
    this.flush();
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }
}
