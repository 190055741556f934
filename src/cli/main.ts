#!/usr/bin/env node
/**
 * The `at-pki` executable: build the program, run it, exit with its code (see run.ts).
 * Start-up cost is paid on every call (CI rigs run one call per partition): everything here and in
 * the command registration files is light, and a command's code is imported when it runs (program.ts).
 */
import { processIo } from './io.js';
import { packageVersion } from './version.js';

const io = processIo();
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // What install checks and CI rigs ask first: answered without loading commander and the commands
  // (the same line commander prints).
  io.stdout(`${packageVersion()}\n`);
} else {
  await runProgram();
}

async function runProgram(): Promise<void> {
  const [{ registerLazyTransportScheme }, { createProgram }, { runCli }] = await Promise.all([
    import('../transport/open.js'),
    import('./program.js'),
    import('./run.js'),
  ]);
  // ---------------------------------------------------------------------------------------------
  // Transport schemes: register the URL schemes device commands can open (serial paths, tcp://,
  // mock://...) here, before the program runs. Register a loader, not the implementation.
  // ---------------------------------------------------------------------------------------------
  // mock:// is the built-in emulator: wired in here, at the entry point, so no library layer depends
  // on it; loaded only when a mock:// port is opened.
  registerLazyTransportScheme('mock', async () => (await import('../../mock-device/in-process-transport.js')).createMockTransport);

  // exitCode, not process.exit(): lets stdout/stderr flush when piped.
  process.exitCode = await runCli(createProgram(io), process.argv, io);
}
