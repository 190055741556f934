#!/usr/bin/env node
/** The `at-pki` executable: build the program, run it, exit with its code (see run.ts). */
import { createMockTransport } from '../../mock-device/index.js';
import { registerTransportScheme } from '../transport/open.js';
import { processIo } from './io.js';
import { createProgram } from './program.js';
import { runCli } from './run.js';

// ---------------------------------------------------------------------------------------------
// Transport schemes: register the URL schemes device commands can open (serial paths, tcp://,
// mock://...) here, before the program runs.
// ---------------------------------------------------------------------------------------------
// mock:// is the built-in emulator: wired in here, at the entry point, so no library layer depends on it.
registerTransportScheme('mock', createMockTransport);

const io = processIo();
// exitCode, not process.exit(): lets stdout/stderr flush when piped.
process.exitCode = await runCli(createProgram(io), process.argv, io);
