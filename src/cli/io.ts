/**
 * The CLI's connection to the outside world, injectable so commands and error handling can be
 * tested in-process.
 */
export interface CliIo {
  /** Write to standard output (text as given; add your own newlines). */
  stdout(text: string): void;
  /** Write to standard error. */
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/**
 * The process's streams. A stream that fails (EPIPE: `at-pki inspect x | head`) is dropped
 * instead of crashing the process with an unhandled 'error' event.
 */
export function processIo(): CliIo {
  return {
    stdout: guardedWriter(process.stdout),
    stderr: guardedWriter(process.stderr),
    env: process.env,
  };
}

function guardedWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (text) => {
    if (!broken) stream.write(text);
  };
}
