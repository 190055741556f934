/** The NVS reference vectors (test/vectors/nvs): CSV, inputs, the generator's call and output. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNvsCsv, type NvsCsvRow } from '../../../src/pki/nvs/csv.js';
import { csvFilePaths } from '../../../src/pki/nvs/csv-image.js';
import { repoRoot } from '../paths.js';

export const nvsVectorsDir = join(repoRoot, 'test/vectors/nvs');

export interface NvsVector {
  name: string;
  dir: string;
  csvPath: string;
  rows: NvsCsvRow[];
  files: Map<string, Buffer>;
  version: 1 | 2;
  size: number;
  expected: Buffer;
}

/** Every case folder (new ones are picked up); version and size from cmd.txt. */
export function nvsVectors(): NvsVector[] {
  return readdirSync(nvsVectorsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(nvsVectorsDir, entry.name);
      const cmd = readFileSync(join(dir, 'cmd.txt'), 'utf8').trim().split(/\s+/);
      const versionAt = cmd.indexOf('--version');
      const csvPath = join(dir, `${entry.name}.csv`);
      const rows = parseNvsCsv(readFileSync(csvPath, 'utf8'));
      const files = new Map(csvFilePaths(rows).map((path) => [path, readFileSync(join(dir, path))]));
      return {
        name: entry.name,
        dir,
        csvPath,
        rows,
        files,
        version: versionAt < 0 ? 2 : (Number(cmd[versionAt + 1]) as 1 | 2),
        size: Number(cmd[cmd.length - 1]),
        expected: readFileSync(join(dir, 'expected.bin')),
      };
    });
}
