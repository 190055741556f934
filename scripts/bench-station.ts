/**
 * Parallel scaling through the station daemon (src/station): a Station started in this process on
 * N emulated modules, jobs submitted over its unix-socket API with the typed StationClient — three
 * update jobs per port (client_cert, client_key, client_ca, credentials inline) — and followed to
 * their end. Ports are connected before the clock starts (the daemon keeps them open).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InlineItem, JobRequest } from '../src/station/api-types.js';
import { StationClient } from '../src/station/client.js';
import { parseStationConfig } from '../src/station/config.js';
import { createStationLogger } from '../src/station/logger.js';
import { Station } from '../src/station/station.js';
import { emulatedModule, fixed, measure, median, ms, registerMock, type Table } from './bench-support.js';

const SETS = [
  { partition: 'client_cert', type: 'cert' },
  { partition: 'client_key', type: 'key' },
  { partition: 'client_ca', type: 'ca' },
] as const;

interface StationRow {
  modules: number;
  baud: number;
  /** Median wall time from the first submit to the last job's end. */
  wallMs: number;
  runs: number[];
  scale: number;
  cpuMsPerPort: number;
  cores: number;
  jobs: number;
  failed: number;
}

function inlineItems(repoRoot: string, partition: string, type: InlineItem['type']): InlineItem[] {
  const dir = join(repoRoot, 'examples', 'raw_data', partition);
  return readdirSync(dir)
    .sort()
    .map((name) => ({ type, pem: readFileSync(join(dir, name), 'utf8') }) as InlineItem);
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One run: a fresh station on n fresh (blank) modules; returns the wall time of the jobs, CPU, failures. */
async function stationRun(n: number, baud: number, repoRoot: string): Promise<{ wallMs: number; cpuMs: number; failed: number; jobs: number }> {
  registerMock();
  const devices = Array.from({ length: n }, () => emulatedModule({ baudRate: baud }));
  const dir = mkdtempSync(join(tmpdir(), 'atpki-bench-'));
  const socket = join(dir, 'api.sock');
  const config = parseStationConfig(
    {
      ports: devices.map((d, i) => ({ name: `bay${i + 1}`, url: d.url, baud })),
      api: { socket },
      journal: 'journal.jsonl',
      logLevel: 'silent',
    },
    { baseDir: dir, source: 'bench-station.json' },
  );
  const station = await Station.start(config, { logger: createStationLogger({ level: 'silent', destination: { write: () => {} } }), version: 'bench' });
  try {
    await waitUntil(() => station.status().ports.every((p) => p.state === 'up'), 'all ports up');
    const client = new StationClient({ daemon: socket, timeoutMs: 60_000 });
    const jobs: JobRequest[] = [];
    for (let i = 0; i < n; i++) {
      for (const set of SETS) {
        jobs.push({ type: 'update', port: `bay${i + 1}`, partition: set.partition, source: { kind: 'items', items: inlineItems(repoRoot, set.partition, set.type) } });
      }
    }
    const run = await measure(() => Promise.all(jobs.map((job) => client.runJob(job))));
    const failed = run.result.filter((r) => !r.end.ok).length;
    return { wallMs: run.wallMs, cpuMs: run.cpuMs, failed, jobs: jobs.length };
  } finally {
    await station.stop();
    for (const d of devices) d.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchStation(options: { quick: boolean; repoRoot: string }): Promise<{ table: Table; rows: StationRow[] }> {
  const counts = [1, 4, 16];
  const repetitions = options.quick ? 1 : 3;
  const baud = 115200;
  await stationRun(1, 921600, options.repoRoot); // warm-up, not measured
  const rows: StationRow[] = [];
  let single = 0;
  for (const n of counts) {
    const runs = [];
    for (let rep = 0; rep < repetitions; rep++) runs.push(await stationRun(n, baud, options.repoRoot));
    const wallMs = median(runs.map((r) => r.wallMs));
    const run = runs.find((r) => r.wallMs === wallMs) ?? runs[0]!;
    if (n === 1) single = wallMs;
    rows.push({
      modules: n,
      baud,
      wallMs,
      runs: runs.map((r) => r.wallMs),
      scale: wallMs / single,
      cpuMsPerPort: run.cpuMs / n,
      cores: run.cpuMs / run.wallMs,
      jobs: runs.reduce((sum, r) => sum + r.jobs, 0),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
    });
  }
  const table: Table = {
    title: 'Parallel scaling through the daemon: N ports, 3 update jobs each (client_cert, client_key, client_ca), submitted at once',
    header: ['line', 'ports', 'wall time', 'vs one port', 'CPU per port', 'CPU used (cores)', 'jobs failed'],
    rows: rows.map((r) => [String(r.baud), r.modules, ms(r.wallMs), fixed(r.scale, 2), ms(r.cpuMsPerPort), fixed(r.cores, 2), `${r.failed}/${r.jobs}`]),
    notes: [
      'A Station (src/station) in this process, blank emulated esp32 modules (line + flash timing), jobs over its unix-socket API with',
      'StationClient.runJob (credentials inline as PEM, validated and encoded by the daemon). Ports are up before the clock starts.',
      `Wall time: first submit to last end event, median of ${repetitions} run(s). CPU: the whole process (daemon, client, emulators).`,
    ],
  };
  return { table, rows };
}
