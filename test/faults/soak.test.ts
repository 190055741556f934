/**
 * The short soak inside `npm test`: ~50 update jobs through the in-process daemon against four
 * emulated modules (two legacy SYSFLASH, two ESP-AT 3.x mfg_nvs) with random faults. The full run is
 * `npm run soak` (1,000 jobs). SOAK_SEED replays a seed.
 */
import { describe, expect, it } from 'vitest';
import { formatSummary, runSoak } from '../../scripts/soak.js';

const seed = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : 20261123;

describe('soak (short)', () => {
  it('no false success, no lost job, the daemon still serves', async () => {
    const lines: string[] = [];
    const summary = await runSoak({ jobs: 48, seed, log: (line) => lines.push(line) });
    const report = `${formatSummary(summary)}\n${lines.join('\n')}`;
    expect(summary.falseSuccesses, report).toEqual([]);
    expect(summary.lost, report).toEqual([]);
    expect(summary.journal, report).toEqual({ accepted: 52, finished: 52, stateMismatches: 0 });
    expect(summary.serving, report).toBe(true);
    expect(summary.jobs).toBe(52);
    expect(summary.succeeded + summary.failed, report).toBe(52);
    // Both kinds of module took part, and faults really happened.
    expect(summary.modules.map((m) => m.storage).sort()).toEqual(['mfg_nvs', 'mfg_nvs', 'partitions', 'partitions']);
    expect(summary.modules.every((m) => m.succeeded > 0), report).toBe(true);
    expect(Object.values(summary.injected).reduce((a, b) => a! + b!, 0)).toBeGreaterThan(5);
    expect(summary.ok).toBe(true);
  }, 60_000);
});
