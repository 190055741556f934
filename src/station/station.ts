/**
 * The factory-station daemon, assembled: one PortSupervisor per configured port, the JobService
 * with its journal, the metrics, and the HTTP API. `Station.start(config)` brings it up;
 * `station.stop()` shuts it down gracefully (stop accepting jobs, cancel queued ones, let running
 * ones finish within `shutdownGraceMs`, close ports, stop listening, close the journal).
 *
 * Several stations can run in one process (tests): nothing here is global except the transport
 * scheme registry.
 */
import type { DestinationStream } from 'pino';
import type { FirmwareView, PortPartitions, PortStatus, StationStatus } from './api-types.js';
import { ApiServer } from './api/server.js';
import { BayBoard } from './bay-board.js';
import { createRouter } from './api/router.js';
import type { StationConfig } from './config.js';
import { RequestError } from './errors.js';
import { JobService } from './job-service.js';
import { Journal } from './journal.js';
import { createStationLogger, type StationLogger } from './logger.js';
import { StationMetrics } from './metrics.js';
import { PortSupervisor, type ConnectModule } from './port-supervisor.js';
import type { StationMode } from './station-mode.js';

export interface StationOptions {
  /** A ready logger (tests pass one writing to memory). @default pino JSON on stdout at config.logLevel */
  logger?: StationLogger;
  /** Where the default logger writes. @default stdout */
  logDestination?: DestinationStream;
  /** Reported in /status and the journal. @default 'unknown' */
  version?: string;
  /** How modules are connected. @default EspAtModule.connect */
  connect?: ConnectModule;
}

export class Station {
  readonly config: StationConfig;
  readonly logger: StationLogger;
  readonly metrics: StationMetrics;
  readonly jobs: JobService;
  /** What the operator sees of each bay and the station totals. */
  readonly board: BayBoard;
  readonly startedAt = new Date();
  readonly #version: string;
  readonly #supervisors: Map<string, PortSupervisor>;
  readonly #journal: Journal;
  #server: ApiServer | undefined;
  #stationMode: StationMode | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(config: StationConfig, options: StationOptions, logger: StationLogger, journal: Journal) {
    this.config = config;
    this.logger = logger;
    this.#version = options.version ?? 'unknown';
    this.#journal = journal;
    this.metrics = new StationMetrics(config.ports.map((port) => port.name));
    this.board = new BayBoard(config.ports.map((port) => port.name));
    this.#supervisors = new Map(
      config.ports.map((port) => [
        port.name,
        new PortSupervisor({ port, reconnect: config.reconnect, logger: logger.child({ port: port.name }), connect: options.connect }),
      ]),
    );
    this.jobs = new JobService({ jobs: config.jobs, supervisors: [...this.#supervisors.values()], journal, metrics: this.metrics, logger, bays: config.station?.bays ?? [] });
    for (const supervisor of this.#supervisors.values()) {
      const port = supervisor.name;
      supervisor.on('state', (state) => this.metrics.portUp(port, state === 'up'));
      supervisor.on('up', ({ reconnect }) => {
        if (reconnect) this.metrics.reconnected(port);
      });
      supervisor.on('reset', () => this.metrics.moduleReset(port));
      supervisor.on('command', (event) => this.metrics.command(event));
    }
  }

  /** Open the journal, report interrupted jobs of the last run, connect the ports, listen. */
  static async start(config: StationConfig, options: StationOptions = {}): Promise<Station> {
    const logger = options.logger ?? createStationLogger({ level: config.logLevel, destination: options.logDestination });
    const { journal, contents } = await Journal.open(config.journal);
    for (const warning of contents.warnings) logger.warn({ journal: config.journal }, `journal: ${warning}`);
    const station = new Station(config, options, logger, journal);
    try {
      const restored = await station.jobs.restore(contents.records);
      if (restored.interrupted > 0) logger.warn({ interrupted: restored.interrupted, toCheck: restored.toCheck }, 'jobs of the last run were interrupted');
      await journal.append({ type: 'daemon-start', pid: process.pid, version: station.#version });
      for (const supervisor of station.#supervisors.values()) supervisor.start();
      if (config.station) {
        const { StationMode } = await import('./station-mode.js');
        station.#stationMode = await StationMode.start({
          config: config.station,
          supervisors: station.#supervisors,
          board: station.board,
          journal,
          metrics: station.metrics,
          logger,
        });
      }
      station.#server = await ApiServer.listen({
        socket: config.api.socket,
        tcp: config.api.tcp,
        token: config.api.token,
        handler: createRouter({
          jobs: station.jobs,
          status: () => station.status(),
          partitions: (name) => station.partitions(name),
          metrics: station.metrics,
          maxBodyBytes: config.api.maxBodyBytes,
          logger,
        }),
      });
    } catch (error) {
      await station.#stationMode?.stop();
      await Promise.all([...station.#supervisors.values()].map((s) => s.stop()));
      await journal.close();
      throw error;
    }
    logger.info(
      { version: station.#version, ports: config.ports.map((p) => ({ name: p.name, url: p.url })), socket: station.socketPath, tcp: station.tcpAddress },
      'daemon started',
    );
    return station;
  }

  get socketPath(): string | undefined {
    return this.#server?.socketPath;
  }

  get tcpAddress(): { host: string; port: number } | undefined {
    return this.#server?.tcpAddress;
  }

  /** Station mode, when the config has a `station` section. */
  get stationMode(): StationMode | undefined {
    return this.#stationMode;
  }

  /** The supervisor of a port (tests and status). */
  port(name: string): PortSupervisor | undefined {
    return this.#supervisors.get(name);
  }

  status(): StationStatus {
    return {
      version: this.#version,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      accepting: this.jobs.accepting,
      ports: [...this.#supervisors.values()].map((supervisor) => this.#portStatus(supervisor)),
      jobs: this.jobs.counts(),
    };
  }

  partitions(name: string): PortPartitions {
    const supervisor = this.#supervisors.get(name);
    if (!supervisor) throw new RequestError(404, 'NOT_FOUND', `no port named '${name.slice(0, 40)}' (configured: ${[...this.#supervisors.keys()].join(', ')})`);
    const partitions = supervisor.partitions;
    if (!partitions) {
      throw new RequestError(503, 'PORT_UNAVAILABLE', `the partition table of port ${name} is not known yet (the port is ${supervisor.state})`, {
        state: supervisor.state,
      });
    }
    const answer: PortPartitions = { port: name, state: supervisor.state, stale: !supervisor.isUp, partitions: [...partitions] };
    if (supervisor.firmware) answer.firmware = supervisor.firmware;
    if (supervisor.storage) answer.storage = supervisor.storage;
    return answer;
  }

  /** Graceful shutdown (idempotent). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** A second signal during shutdown: do not wait out the grace; running jobs stop at their next safe point. */
  hurry(): void {
    this.jobs.hurry();
  }

  async #stop(): Promise<void> {
    this.logger.info({ graceMs: this.config.shutdownGraceMs }, 'shutting down');
    await this.jobs.shutdown(this.config.shutdownGraceMs);
    await this.#stationMode?.stop();
    await Promise.all([...this.#supervisors.values()].map((supervisor) => supervisor.stop()));
    await this.#server?.close();
    await this.#journal.append({ type: 'daemon-stop', pid: process.pid }).catch(() => {});
    await this.#journal.close();
    this.logger.info('daemon stopped');
    this.logger.flush();
  }

  #portStatus(supervisor: PortSupervisor): PortStatus {
    const firmware: FirmwareView | undefined = supervisor.firmware;
    const lastError = supervisor.lastError;
    return {
      name: supervisor.name,
      url: supervisor.url,
      state: supervisor.state,
      since: supervisor.since.toISOString(),
      ...(firmware ? { firmware } : {}),
      ...(supervisor.storage ? { storage: supervisor.storage } : {}),
      ...(lastError ? { lastError } : {}),
      reconnects: supervisor.reconnects,
      resets: supervisor.resets,
      ...this.jobs.portStatus(supervisor.name),
    };
  }
}
