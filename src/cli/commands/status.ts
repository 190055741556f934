/** `at-pki status --daemon <socket|http://127.0.0.1:PORT>`: what the station daemon is doing. */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { PortStatus, StationStatus } from '../../station/api-types.js';
import type { CliIo } from '../io.js';
import { addExamples, addJsonOption, printResult, type JsonOption } from '../output.js';
import { formatTable } from '../table.js';

interface StatusOptions extends JsonOption {
  daemon?: string;
  token?: string;
}

export function registerStatus(program: Command, io: CliIo): void {
  const command = program
    .command('status')
    .summary("show the station daemon's ports, jobs and queues")
    .description(
      "Ask a running 'at-pki daemon' for its status: each port (up/down, firmware, current job, queue length, reconnects, " +
        'module restarts), job counts and uptime.',
    )
    .addOption(new Option('-d, --daemon <address>', 'the daemon: its unix socket path, or http://127.0.0.1:PORT').env('AT_PKI_DAEMON'))
    .addOption(new Option('--token <token>', 'bearer token for a TCP address').env('AT_PKI_TOKEN'));
  addJsonOption(command);
  addExamples(command, [
    'at-pki status --daemon /run/at-pki/api.sock',
    'at-pki status --daemon http://127.0.0.1:8735 --token "$(cat /etc/at-pki/token)" --json',
  ]);
  command.action(async (options: StatusOptions) => {
    if (!options.daemon) throw new UsageError('give the daemon with --daemon <socket path | http://127.0.0.1:PORT> (or AT_PKI_DAEMON)');
    const { StationClient } = await import('../../station/client.js');
    const client = new StationClient({ daemon: options.daemon, token: options.token });
    const status = await client.getStatus();
    printResult(io, options.json, formatStatus(status), status);
  });
}

export function formatStatus(status: StationStatus, now = Date.now()): string {
  const { jobs } = status;
  const head =
    `at-pki daemon ${status.version} (pid ${status.pid}), up ${duration(status.uptimeSeconds)}, ` +
    `${status.accepting ? 'accepting jobs' : 'shutting down'}; jobs: ${jobs.running} running, ${jobs.queued} queued, ${jobs.interrupted} interrupted`;
  const table = formatTable(
    [
      { header: 'port' },
      { header: 'state' },
      { header: 'for', right: true },
      { header: 'firmware' },
      { header: 'job' },
      { header: 'queued', right: true },
      { header: 'reconnects', right: true },
      { header: 'resets', right: true },
      { header: 'url' },
    ],
    status.ports.map((port) => [
      port.name,
      port.state,
      duration((now - Date.parse(port.since)) / 1000),
      port.firmware?.atVersion ?? '-',
      currentJob(port, now),
      String(port.queued),
      String(port.reconnects),
      String(port.resets),
      port.url,
    ]),
  );
  const errors = status.ports.filter((port) => port.state !== 'up' && port.lastError).map((port) => `${port.name}: ${port.lastError!.message}`);
  return [head, table, ...errors].join('\n');
}

function currentJob(port: PortStatus, now: number): string {
  const job = port.currentJob;
  if (!job) return '-';
  return `${job.type}${job.partition ? ` ${job.partition}` : ''} ${job.id.slice(0, 8)} (${duration((now - Date.parse(job.startedAt)) / 1000)})`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}
