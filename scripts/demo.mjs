#!/usr/bin/env node
// `npm run demo`: provision client_cert, client_key and client_ca into an emulated ESP32-C3 whose
// flash starts full of garbage, using the real CLI, and show what happened. Nothing here needs hardware.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'at-pki-demo-'));
const port = `mock://esp32c3?fill=garbage&state=${join(work, 'flash.bin')}`;
const rawData = join(root, 'examples', 'raw_data');

function run(title, args) {
  console.log(`${title ? `\n# ${title}` : ""}\n$ at-pki ${args.map((a) => (/[\s?&]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: work });
  if (result.status !== 0) {
    console.error(`demo: at-pki exited with ${result.status}`);
    process.exit(1);
  }
}

try {
  run('Build a bin from ESP-AT\'s example client certificates and look inside it', ['generate', '--from', rawData, 'client_cert', '-o', 'client_cert.bin']);
  run('', ['inspect', 'client_cert.bin']);
  run('The emulated module and its partitions (its flash starts full of garbage)', ['partitions', '--port', port]);
  for (const partition of ['client_cert', 'client_key', 'client_ca']) {
    run(`Provision ${partition}: compare, erase only what changes, write, read back`, ['update', '--port', port, partition, '--from', rawData]);
  }
  run('Run it again: the module already holds the bins, so nothing is written', ['update', '--port', port, 'client_cert', '--from', rawData]);
  run('Read the partition back and inspect what the module holds', ['read', '--port', port, 'client_key', '-o', 'client_key.readback.bin']);
  run('', ['inspect', 'client_key.readback.bin']);
  console.log('\nDone. Real modules: replace the port with /dev/ttyUSB0 (or tcp://host:port).');
} finally {
  rmSync(work, { recursive: true, force: true });
}
