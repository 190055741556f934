import { AtPkiError } from '../errors.js';
import { changesSent, describeQueryOnlyState, FLUSH_CONSEQUENCE, markStateIfUnnamed } from '../flash/changes-sent.js';
import type { EventSink } from '../flash/events.js';
import { formatVersion } from '../flash/firmware.js';
import { withFastBaud } from '../flash/fast-baud.js';
import { EspAtModule } from '../flash/module.js';
import type { DeviceOptions } from './device-options.js';
import { parseBaud, parseFastBaud, parseTimeout } from './device-options.js';
import type { CliIo } from './io.js';
import { humanReporter, jsonReporter } from './progress-reporter.js';

export interface OperationContext {
  module: EspAtModule;
  emit: EventSink;
  signal: AbortSignal;
}

/**
 * Run one operation against a module, the same way for every command: `begin` event, connect,
 * the work (with progress), `end` event or error, and the port closed in every case. Ctrl-C cancels
 * at the next safe point (never in the middle of a chunk being written). A failure says what state
 * the module was left in. With `--fast-baud`, the work runs at that rate and the line goes back to
 * `--baud` afterwards, whatever happened. Returns the operation's result; the caller prints it.
 */
export async function runOperation<T>(
  io: CliIo,
  operation: { name: string; partition?: string },
  options: DeviceOptions,
  work: (context: OperationContext) => Promise<T>,
): Promise<T> {
  const reporter = options.json ? jsonReporter(io) : humanReporter(io);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSignal);
  if (options.json) {
    io.stdout(`${JSON.stringify({ type: 'begin', operation: operation.name, port: options.port, ...(operation.partition ? { partition: operation.partition } : {}) })}\n`);
  }
  let module: EspAtModule | undefined;
  let changesBefore = 0;
  try {
    const baudRate = parseBaud(options.baud);
    const timeoutMs = parseTimeout(options.timeout);
    const fastBaud = parseFastBaud(options.fastBaud);
    module = await EspAtModule.connect(options.port, { baudRate, timeoutMs, signal: controller.signal });
    changesBefore = changesSent(module.session);
    reporter.event({
      type: 'log',
      level: 'info',
      message: `connected to ${module.url}: ESP-AT ${formatVersion(module.firmware.atVersion)}`,
    });
    if (module.session.flushedBytes > 0) {
      reporter.event({
        type: 'log',
        level: 'warn',
        message: `the module was stuck in data mode (a write cut off earlier); sent ${module.session.flushedBytes} bytes of 0xFF to free it: ${FLUSH_CONSEQUENCE}`,
      });
    }
    const context: OperationContext = { module, emit: (event) => reporter.event(event), signal: controller.signal };
    if (fastBaud === undefined) return await work(context);
    return await withFastBaud(module, fastBaud, () => work(context), { signal: controller.signal, onEvent: context.emit });
  } catch (error) {
    // Every failure names the module's state; operations that change flash say it themselves, the
    // rest (connect, table read, comparison read, read-only commands) only asked questions.
    // Garbled commands and a data-mode flush during connect count: they happened in this run.
    if (module) markStateIfUnnamed(error, module.session, { changes: changesBefore, suspects: 0 });
    else if (error instanceof AtPkiError && typeof error.details.deviceState !== 'string' && error.exitCode === 1) {
      error.details.deviceState = describeQueryOnlyState(typeof error.details.flushedBytes === 'number' ? error.details.flushedBytes : 0, false);
    }
    if (error instanceof AtPkiError && typeof error.details.deviceState === 'string') {
      error.message = `${error.message} [module ${error.details.deviceState}]`;
    }
    throw error;
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
    await module?.close().catch(() => {});
  }
}
