import cliProgress from 'cli-progress';
import type { OperationEvent, Phase } from '../flash/events.js';
import type { CliIo } from './io.js';
import { PROGRAM_NAME } from './output.js';

/** How a command shows what is happening: JSON lines, a progress bar on a terminal, or just notes. */
export interface ProgressReporter {
  event(event: OperationEvent): void;
  /** Finish any bar before the result or an error is printed. */
  stop(): void;
}

const PHASE_LABELS: Record<Phase, string> = {
  connect: 'connect',
  compare: 'compare',
  erase: 'erase',
  write: 'write',
  read: 'read',
  verify: 'verify',
};

/** `--json`: every event is one line on stdout (the daemon's event stream has the same shapes). */
export function jsonReporter(io: CliIo): ProgressReporter {
  return {
    event: (event) => io.stdout(`${JSON.stringify(event)}\n`),
    stop: () => {},
  };
}

/**
 * Humans: one bar per phase on a terminal's stderr, all kept on screen (phases run one after the
 * other); nothing is drawn when stderr is not a TTY, so pipes and CI logs stay clean.
 * Warnings are printed as `at-pki: warning: ...` lines; notes only on a terminal.
 */
export function humanReporter(io: CliIo, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const interactive = stream.isTTY === true;
  let multibar: cliProgress.MultiBar | undefined;
  const bars = new Map<Phase, cliProgress.SingleBar>();
  const stopBars = (): void => {
    multibar?.stop();
    multibar = undefined;
    bars.clear();
  };
  return {
    event(event) {
      if (event.type === 'log') {
        // Notes are for someone watching; warnings are for everyone (logs, CI).
        if (event.level === 'info' && !interactive) return;
        if (multibar) multibar.log(`${PROGRAM_NAME}: ${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
        else io.stderr(`${PROGRAM_NAME}: ${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
        return;
      }
      if (!interactive || event.total === 0) return;
      multibar ??= new cliProgress.MultiBar(
        { stream, format: '{phase} [{bar}] {percentage}% | {value}/{total} {unit}', hideCursor: true, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
      let bar = bars.get(event.phase);
      if (!bar) {
        bar = multibar.create(event.total, event.done, { phase: PHASE_LABELS[event.phase].padEnd(7), unit: event.unit });
        bars.set(event.phase, bar);
      }
      bar.setTotal(event.total);
      bar.update(event.done);
    },
    stop: stopBars,
  };
}
