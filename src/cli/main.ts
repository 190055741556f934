#!/usr/bin/env node
/**
 * The `at-pki` executable: build the program, run it, exit with its code (see run.ts).
 * Start-up cost is paid on every call (CI rigs run one call per partition): everything here and in
 * the command registration files is light, and a command's code is imported when it runs (program.ts).
 */
import { registerTransportScheme } from '../transport/open.js';
import { processIo } from './io.js';
import { createProgram } from './program.js';
import { runCli } from './run.js';

// ---------------------------------------------------------------------------------------------
// Transport schemes: register the URL schemes device commands can open (serial paths, tcp://,
// mock://...) here, before the program runs. Register a loader, not the implementation.
// ---------------------------------------------------------------------------------------------
// mock:// is the built-in emulator: wired in here, at the entry point, so no library layer depends on it;
// loaded only when a mock:// port is opened.
registerTransportScheme('mock', async (url, options) => (await import('../../mock-device/in-process-transport.js')).createMockTransport(url, options));

const io = processIo();
// exitCode, not process.exit(): lets stdout/stderr flush when piped.
process.exitCode = await runCli(createProgram(io), process.argv, io);
