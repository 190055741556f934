/**
 * Parallel scaling: N emulated modules provisioned at once (connect + update of client_cert,
 * client_key and client_ca), each with its own EspAtModule, all in this one process — as the
 * station daemon runs its ports. Reports wall time against one module and CPU per port.
 */
import { EspAtModule } from '../src/flash/module.js';
import { loadCredentialSet, provision } from './bench-flash.js';
import { emulatedModule, fixed, measure, median, ms, type Table } from './bench-support.js';

interface ParallelRow {
  modules: number;
  baud: number;
  fastBaud?: number;
  /** Median over the repetitions. */
  wallMs: number;
  runs: number[];
  /** Slowest module's own time (connect → last answer), in the median run. */
  slowestMs: number;
  scale: number;
  cpuMs: number;
  cpuMsPerPort: number;
  /** CPU used / wall time, in cores. */
  cores: number;
}

async function provisionOne(url: string, baud: number, set: Awaited<ReturnType<typeof loadCredentialSet>>, fastBaud?: number): Promise<number> {
  const started = performance.now();
  const module = await EspAtModule.connect(url, { baudRate: baud });
  try {
    await provision(module, set, fastBaud ? { fastBaud } : {});
  } finally {
    await module.close();
  }
  return performance.now() - started;
}

export async function benchParallel(options: { quick: boolean; repoRoot: string }): Promise<{ table: Table; rows: ParallelRow[] }> {
  const set = await loadCredentialSet(options.repoRoot);
  const counts = [1, 4, 16];
  // Median of three (this machine is shared; one run can catch someone else's compile).
  const repetitions = options.quick ? 1 : 3;
  const configs: { baud: number; fastBaud?: number }[] = options.quick ? [{ baud: 115200 }] : [{ baud: 115200 }, { baud: 115200, fastBaud: 921600 }];
  const rows: ParallelRow[] = [];
  // Warm-up (not measured): compile the hot paths once, so N = 1 is not the only cold run.
  const warm = emulatedModule({ baudRate: 921600 });
  try {
    await provisionOne(warm.url, 921600, set);
  } finally {
    warm.dispose();
  }
  for (const config of configs) {
    let single = 0;
    for (const n of counts) {
      const runs: Awaited<ReturnType<typeof measure<number[]>>>[] = [];
      for (let rep = 0; rep < repetitions; rep++) {
        const devices = Array.from({ length: n }, () => emulatedModule({ baudRate: config.baud }));
        try {
          runs.push(await measure(() => Promise.all(devices.map((d) => provisionOne(d.url, config.baud, set, config.fastBaud)))));
        } finally {
          for (const d of devices) d.dispose();
        }
      }
      const wallMs = median(runs.map((r) => r.wallMs));
      const run = runs.find((r) => r.wallMs === wallMs) ?? runs[0]!;
      if (n === 1) single = wallMs;
      rows.push({
        modules: n,
        baud: config.baud,
        ...(config.fastBaud ? { fastBaud: config.fastBaud } : {}),
        wallMs,
        runs: runs.map((r) => r.wallMs),
        slowestMs: Math.max(...run.result),
        scale: wallMs / single,
        cpuMs: run.cpuMs,
        cpuMsPerPort: run.cpuMs / n,
        cores: run.cpuMs / run.wallMs,
      });
    }
  }
  const table: Table = {
    title: 'Parallel scaling: N modules provisioned at once (connect + client_cert/key/ca update each), one process',
    header: ['line', 'modules', 'wall time', 'vs one module', 'CPU per port', 'CPU used (cores)'],
    rows: rows.map((r) => [
      r.fastBaud ? `${r.baud} → --fast-baud ${r.fastBaud}` : String(r.baud),
      r.modules,
      ms(r.wallMs),
      fixed(r.scale, 2),
      ms(r.cpuMsPerPort),
      fixed(r.cores, 2),
    ]),
    notes: [
      'N EspAtModule sessions on N in-process emulators (line + flash timing), all concurrent in one Node process on this machine;',
      'wall time is the median of 3 runs (1 with --quick), from the first open to the last close.',
      'CPU is the whole process (host side and the emulators together), so the host\'s own share is smaller.',
    ],
  };
  return { table, rows };
}
