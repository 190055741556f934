/** The package version, from the package.json above this file (works from src/ and from dist/src/). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRegularFileSync } from '../flash/regular-file.js';

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readRegularFileSync(join(dir, 'package.json'), { maxBytes: 1024 * 1024 }).toString('utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'at-pki' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
