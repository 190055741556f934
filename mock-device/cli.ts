#!/usr/bin/env node
/**
 * Standalone mock device: `npm run mock-device -- --pty` or `-- --tcp [PORT]`.
 * The first stdout line is where to connect (pty path or tcp:// URL); diagnostics go to stderr.
 * Runs until SIGINT/SIGTERM, then saves the state file (if any) and exits 0.
 */
import { EspAtEmulator } from './emulator.js';
import { FlashStateFile } from './flash-state-file.js';
import { USAGE, parseCliArgs } from './cli-options.js';
import { servePty } from './pty-server.js';
import { serveTcp } from './tcp-server.js';

async function main(): Promise<number> {
  const command = parseCliArgs(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === 'error') {
    process.stderr.write(`mock-device: ${command.message}\n\n${USAGE}\n`);
    return 2;
  }

  // Unpowered until served: serveTcp powers it when the first client connects (which then sees
  // `ready`); servePty powers it at once (a pty cannot tell when a client opens it).
  const emulator = new EspAtEmulator({ ...command.emulator, startup: 'off' });
  const stateFile = command.statePath !== undefined ? FlashStateFile.attach(emulator, command.statePath) : undefined;
  const server =
    command.mode === 'pty'
      ? await servePty(emulator)
      : await serveTcp(emulator, { port: command.tcpPort });
  process.stdout.write(`${'path' in server ? server.path : server.url}\n`);
  process.stderr.write(
    `mock-device: ${emulator.chip} AT ${emulator.firmware}, UART ${emulator.baudRate} baud` +
      `${stateFile ? `, flash state in ${stateFile.path}` : ''}; Ctrl-C to stop\n`,
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  stateFile?.detach();
  emulator.dispose();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mock-device: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
