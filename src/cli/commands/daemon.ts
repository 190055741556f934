/**
 * `at-pki daemon --config station.json`: the factory-station daemon. Owns the configured ports,
 * runs jobs submitted over its API (unix socket, optional loopback TCP), journals them, serves
 * /metrics, logs JSON lines on stdout. SIGTERM/SIGINT: stop accepting jobs, let running ones finish
 * (shutdownGraceMs), close the ports, exit 0; a second signal stops running jobs at their next safe point.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { LOG_LEVELS, loadStationConfig, type LogLevel } from '../../station/config.js';
import { Station } from '../../station/station.js';
import type { CliIo } from '../io.js';
import { addExamples } from '../output.js';
import { packageVersion } from '../version.js';

interface DaemonOptions {
  config: string;
  logLevel?: string;
  check?: boolean;
}

export function registerDaemon(program: Command, io: CliIo): void {
  const command = program
    .command('daemon')
    .summary('run the factory-station daemon (ports, job queue, HTTP API, journal, metrics)')
    .description(
      'Run the factory-station daemon: keep the configured ports connected (reopening them after an unplug), run jobs ' +
        '(update, verify, read, partitions) one at a time per port and ports in parallel, accept them over an HTTP API on a ' +
        'unix socket (and optionally loopback TCP with a bearer token), record every job in an append-only journal, serve ' +
        'Prometheus metrics. Logs are JSON lines on stdout. SIGTERM/SIGINT shut it down gracefully (exit 0).',
    )
    .requiredOption('-c, --config <file>', 'the station config (JSON)')
    .option('--log-level <level>', `override logLevel of the config (${LOG_LEVELS.join(', ')})`)
    .option('--check', 'only check the config and print what would run');
  addExamples(command, [
    'at-pki daemon --config /etc/at-pki/station.json',
    'at-pki daemon --config station.json --log-level debug',
    'at-pki daemon --config station.json --check',
    'at-pki status --daemon /run/at-pki/api.sock',
  ]);
  command.action(async (options: DaemonOptions) => {
    const config = await loadStationConfig(options.config, io.env);
    if (options.logLevel !== undefined) {
      if (!(LOG_LEVELS as readonly string[]).includes(options.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${options.logLevel}'`);
      config.logLevel = options.logLevel as LogLevel;
    }
    if (options.check) {
      const listeners = [config.api.socket ? `socket ${config.api.socket}` : undefined, config.api.tcp ? `tcp ${config.api.tcp.host}:${config.api.tcp.port}` : undefined];
      io.stdout(
        `${options.config}: OK\n` +
          `ports: ${config.ports.map((p) => `${p.name}=${p.url}`).join(', ')}\n` +
          `api: ${listeners.filter(Boolean).join(', ')}\n` +
          `journal: ${config.journal}\n` +
          (config.station
            ? `station mode: ledger ${config.station.ledger.replace(/\/\/([^@/]*)@/, '//…@')}, ${config.station.batch !== undefined ? `batch ${config.station.batch}` : `issuing from ${config.station.issue!.caCert}`}, bays ${config.station.bays.join(', ')}\n`
            : ''),
      );
      return;
    }
    await runDaemon(await Station.start(config, { version: packageVersion() }));
  });
}

/** Serve until SIGTERM/SIGINT, then shut down gracefully. */
async function runDaemon(station: Station): Promise<void> {
  const logger = station.logger;
  const onFatal = (error: unknown): void => {
    logger.fatal({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'internal error; exiting (the journal reports unfinished jobs on the next start)');
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  let stopping = false;
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  await new Promise<void>((resolve) => {
    onSignal = (signal) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: stopping running jobs at their next safe point');
        station.hurry();
        return;
      }
      stopping = true;
      logger.info({ signal }, 'signal received');
      void station.stop().then(resolve, onFatal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
}
