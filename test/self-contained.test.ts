/**
 * A user's clone has nothing beside it: no file of the project may reach outside the repository for
 * its inputs (the reference vectors live in test/vectors, copied from the steering repository's shared/).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './pki/paths.js';

it('no tracked source, test, script or config file reads the shared folder beside the clone', () => {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => /\.(ts|mts|js|mjs|cjs|json|py|sh)$/.test(file) || file.startsWith('.ci/'))
    .filter((file) => !file.startsWith('test/vectors/') && file !== 'package-lock.json' && file !== 'test/self-contained.test.ts'); // this file names the path it looks for
  expect(files.length).toBeGreaterThan(50);
  const offenders = files.filter((file) => /\.\.\/(?:\.\.\/)*shared\b/.test(readFileSync(join(repoRoot, file), 'utf8')));
  expect(offenders).toEqual([]);
});
