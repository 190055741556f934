import { VerifyError } from '../errors.js';
import { checkImageFormatFor, checkItemTypesFor } from '../flash/bin-source.js';
import { verifyCredentials } from '../flash/verify-credentials.js';
import { sourceOf } from './commands/update.js';
import type { VerifyOptions } from './commands/verify.js';
import type { CliIo } from './io.js';
import { runOperation } from './operation-runner.js';
import { printResult } from './output.js';
import { prepareBinForCli } from './prepare-bin.js';

/** Differences quoted in the one-line error; all of them are in `details.differences`. */
const QUOTED_DIFFERENCES = 3;

/** The work of `at-pki verify`: the same sources and checks as update, then a read-only comparison. */
export async function runVerify(io: CliIo, label: string, items: readonly string[], options: VerifyOptions): Promise<void> {
  const source = await sourceOf(label, items, options);
  const prepared = await prepareBinForCli(io, source, options.validate);
  checkImageFormatFor(label, prepared.format);
  if (options.validate && prepared.format === 'atpki') checkItemTypesFor(label, prepared.items);
  const report = await runOperation(io, { name: 'verify', partition: label }, options, async ({ module, emit, signal }) => {
    const result = await verifyCredentials(module, label, prepared, { signal, onEvent: emit });
    if (!result.match) {
      const more = result.differences.length > QUOTED_DIFFERENCES ? ` and ${result.differences.length - QUOTED_DIFFERENCES} more` : '';
      throw new VerifyError(`${label} does not hold what update would write: ${result.differences.slice(0, QUOTED_DIFFERENCES).join('; ')}${more}`, {
        details: { ...result, deviceState: 'unchanged: verify erases and writes nothing' },
      });
    }
    return result;
  });
  const what = report.storage === 'mfg_nvs' ? `the ${prepared.items.length} value(s) (${report.checkedBytes} bytes), nothing stale after them` : `the ${prepared.bin.length}-byte bin followed by 0xFF (all ${report.checkedBytes} bytes read)`;
  printResult(io, options.json, `${label} holds exactly ${what}`, { ...report, binBytes: prepared.bin.length, items: prepared.items.length });
}
