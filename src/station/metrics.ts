/**
 * Prometheus metrics of one daemon, in its own prom-client Registry (never the global one, so several
 * daemons can live in one process, e.g. in tests). Served on `GET /metrics`.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | default process metrics (`process_*`, `nodejs_*`: RSS, event-loop lag, GC...) | | |
 * | `at_command_duration_seconds` | histogram | `command` (AT+SYSFLASH...), `result` (ok, error, timeout, disconnected, aborted, busy) |
 * | `jobs_total` | counter | `type` (update, partitions, read, verify), `result` (succeeded, failed, cancelled, interrupted) |
 * | `flash_bytes_written_total` | counter | |
 * | `serial_reconnects_total` | counter | `port` — times a lost port came back |
 * | `serial_port_up` | gauge | `port` — 1 while the port is up and its module answers |
 * | `module_resets_total` | counter | `port` — the module restarted on its own (printed `ready`) |
 * | `jobs_queued` | gauge | `port` — jobs waiting |
 * | `station_units_total` | counter | `bay`, `result` (passed, failed) — station mode: units provisioned |
 * | `station_unit_seconds` | histogram | `bay` — station mode: time from identification to the unit's outcome |
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandEvent } from '../at/session.js';
import type { JobState, JobType } from './api-types.js';

const JOB_TYPES: readonly JobType[] = ['update', 'partitions', 'read', 'verify'];
const JOB_RESULTS: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export class StationMetrics {
  readonly registry = new Registry();
  readonly #commandDuration: Histogram<'command' | 'result'>;
  readonly #jobs: Counter<'type' | 'result'>;
  readonly #flashBytesWritten: Counter;
  readonly #reconnects: Counter<'port'>;
  readonly #portUp: Gauge<'port'>;
  readonly #resets: Counter<'port'>;
  readonly #queued: Gauge<'port'>;
  readonly #units: Counter<'bay' | 'result'>;
  readonly #unitSeconds: Histogram<'bay'>;

  constructor(portNames: readonly string[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#commandDuration = new Histogram({
      name: 'at_command_duration_seconds',
      help: 'Time from sending an AT command to its final result',
      labelNames: ['command', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#jobs = new Counter({ name: 'jobs_total', help: 'Finished jobs by type and outcome', labelNames: ['type', 'result'], registers });
    this.#flashBytesWritten = new Counter({ name: 'flash_bytes_written_total', help: 'Bytes written into module flash by jobs', registers });
    this.#reconnects = new Counter({ name: 'serial_reconnects_total', help: 'Times a lost port was opened again', labelNames: ['port'], registers });
    this.#portUp = new Gauge({ name: 'serial_port_up', help: '1 while the port is open and its module answers', labelNames: ['port'], registers });
    this.#resets = new Counter({ name: 'module_resets_total', help: 'Module restarts noticed (it printed ready)', labelNames: ['port'], registers });
    this.#queued = new Gauge({ name: 'jobs_queued', help: 'Jobs waiting for their port', labelNames: ['port'], registers });
    this.#units = new Counter({ name: 'station_units_total', help: 'Station mode: units provisioned per bay, by outcome', labelNames: ['bay', 'result'], registers });
    this.#unitSeconds = new Histogram({
      name: 'station_unit_seconds',
      help: 'Station mode: time from a unit being identified to its outcome',
      labelNames: ['bay'],
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    });
    // Every series exists from the start (a scrape sees 0, not nothing).
    for (const type of JOB_TYPES) for (const result of JOB_RESULTS) this.#jobs.inc({ type, result }, 0);
    for (const port of portNames) {
      this.#reconnects.inc({ port }, 0);
      this.#portUp.set({ port }, 0);
      this.#resets.inc({ port }, 0);
      this.#queued.set({ port }, 0);
    }
  }

  command(event: CommandEvent): void {
    this.#commandDuration.observe({ command: event.name, result: event.result }, event.durationMs / 1000);
  }

  jobFinished(type: JobType, result: JobState): void {
    this.#jobs.inc({ type, result });
  }

  flashWritten(bytes: number): void {
    if (bytes > 0) this.#flashBytesWritten.inc(bytes);
  }

  reconnected(port: string): void {
    this.#reconnects.inc({ port });
  }

  portUp(port: string, up: boolean): void {
    this.#portUp.set({ port }, up ? 1 : 0);
  }

  moduleReset(port: string): void {
    this.#resets.inc({ port });
  }

  /** Station mode: a bay's unit passed or failed after `seconds`. */
  unitFinished(bay: string, result: 'passed' | 'failed', seconds: number): void {
    this.#units.inc({ bay, result });
    this.#unitSeconds.observe({ bay }, seconds);
  }

  queued(port: string, count: number): void {
    this.#queued.set({ port }, count);
  }

  /** The exposition text for `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
