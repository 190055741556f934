// node --import <this file>: appends the URL of every module the process loads (ES modules, the entry
// points of packages, node: built-ins) to the file named by AT_PKI_MODULE_LOG, one per line.
// Used by test/cli/startup.test.ts to see what a command loads. Plain JS: node runs it before anything.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url, { data: { log: process.env.AT_PKI_MODULE_LOG } });
