/**
 * What each job type does to a module, through the flash layer's own functions (updateCredentials,
 * readRange, checkRange, EspAtModule.partitions): the daemon has no second implementation of any
 * device operation (update goes through updateCredentials, like the CLI's: a partition, or an mfg_nvs
 * namespace on ESP-AT >= 3.1). Progress goes to `emit` as the flash layer's events.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import type { EventSink } from '../flash/events.js';
import { formatVersion } from '../flash/firmware.js';
import type { EspAtModule } from '../flash/module.js';
import { checkRange } from '../flash/range-checks.js';
import { readRange } from '../flash/read-range.js';
import { updateCredentials } from '../flash/update-credentials.js';
import { verifyCredentials } from '../flash/verify-credentials.js';
import type { JobSpec } from './api-types.js';
import type { Credentials } from './bin-input.js';

export interface PerformOptions {
  signal: AbortSignal;
  emit: EventSink;
  /** Largest read job. */
  maxReadBytes: number;
}

/** Run one job on a connected module. Rejects with the flash layer's errors (deviceState in details). */
export async function performJob(module: EspAtModule, spec: JobSpec, credentials: Credentials | undefined, options: PerformOptions): Promise<Record<string, unknown>> {
  const { signal, emit } = options;
  switch (spec.type) {
    case 'partitions':
      return {
        firmware: { atVersion: formatVersion(module.firmware.atVersion), lines: module.firmware.lines },
        partitions: await module.partitions({ signal }),
      };

    case 'update': {
      // Partition or mfg_nvs namespace, whichever the module has: the same entry point as the CLI's update.
      const outcome = await updateCredentials(module, spec.partition!, needCredentials(credentials), { signal, onEvent: emit, force: spec.force, anyPartition: spec.anyPartition });
      return { storage: outcome.storage, ...outcome.report, binBytes: spec.bin!.bytes, binSha256: spec.bin!.sha256, items: spec.bin!.items };
    }

    case 'read': {
      const partition = await module.partition(spec.partition!, { signal });
      const offset = spec.offset ?? 0;
      const length = spec.length ?? Math.max(0, partition.size - offset);
      checkRange(partition, offset, length, 'read');
      if (length > options.maxReadBytes) {
        throw new InputError(`read: ${length} bytes is more than the ${options.maxReadBytes} a read job may return; give a length`, {
          details: { length, maxReadBytes: options.maxReadBytes, deviceState: 'unchanged' },
        });
      }
      const bytes = await readRange(module.session, partition, offset, length, {
        signal,
        onProgress: (done) => emit({ type: 'progress', phase: 'read', done, total: length, unit: 'bytes' }),
      });
      return { partition: partition.label, offset, length, sha256: sha256(bytes), data: bytes.toString('base64') };
    }

    case 'verify': {
      // The same check as 'at-pki verify': the whole partition (bin, then 0xFF) or the namespace's keys.
      const report = await verifyCredentials(module, spec.partition!, needCredentials(credentials), { signal, onEvent: emit });
      return { partition: report.target, length: spec.bin!.bytes, ...report, binSha256: spec.bin!.sha256 };
    }
  }
}

function needCredentials(credentials: Credentials | undefined): Credentials {
  if (!credentials) throw new InputError('the job has no bin (it was released)', { details: { deviceState: 'unchanged' } });
  return credentials;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
