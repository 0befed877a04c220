// One run of the CLI: parse the command line, run one command, report.
import { isErrorCode } from '../errors';
import type { Driver } from '../index';
import { PROGRAM, UsageError, helpText, parseCommandLine, type Invocation } from './args';
import { COMMAND_RUNNERS, READ_ONLY_COMMANDS } from './commands';
import { errorLine } from './format';
import { openDriver } from './openDriver';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;
/** What a shell reports for a process killed by SIGPIPE: the reader of stdout went away. */
const EXIT_OUTPUT_CLOSED = 141;

/** Runs the command line `argv` and resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const interrupt = new AbortController();
  const output = watchStdout(() => interrupt.abort());
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err);
    throw err;
  }
  if (invocation.kind === 'help') {
    process.stdout.write(helpText(invocation.command));
    return output.status() ?? EXIT_OK;
  }

  const { name, operands, json, force, root, driverOptions } = invocation;
  const onSignal = (): void => {
    // A second signal does not wait for the work to wind down.
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let driver: Promise<Driver> | undefined;
  try {
    await COMMAND_RUNNERS[name]({
      operands,
      json,
      force,
      driverOptions,
      signal: interrupt.signal,
      driver: () =>
        (driver ??= openDriver(root, driverOptions, { readOnly: READ_ONLY_COMMANDS.has(name) }).then(
          (opened) => opened.driver,
        )),
      print: (text) => {
        if (text !== '' && output.status() === undefined) process.stdout.write(text);
      },
    });
    return output.status() ?? EXIT_OK;
  } catch (err) {
    // A failed stdout has been reported already; what it broke says nothing more.
    const outputStatus = output.status();
    if (outputStatus !== undefined) return outputStatus;
    if (err instanceof UsageError) return usageFailure(err);
    process.stderr.write(`${PROGRAM}: ${errorLine(err)}\n`);
    return interrupt.signal.aborted ? EXIT_INTERRUPTED : EXIT_FAILED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function usageFailure(err: UsageError): number {
  const help = err.command === undefined || err.command === 'help' ? `${PROGRAM} --help` : `${PROGRAM} ${err.command} --help`;
  process.stderr.write(`${PROGRAM}: ${err.message} (see '${help}')\n`);
  return EXIT_USAGE;
}

/**
 * Reports a failed stdout once: silently when its reader went away (EPIPE),
 * else in one line. The error can come after main() resolved (writes to a
 * pipe fail on a later tick), so it sets the exit status itself too.
 */
function watchStdout(onFailure: () => void): { status(): number | undefined } {
  let status: number | undefined;
  process.stdout.on('error', (err: Error) => {
    if (status !== undefined) return;
    if (isErrorCode(err, 'EPIPE')) {
      status = EXIT_OUTPUT_CLOSED;
    } else {
      status = EXIT_FAILED;
      process.stderr.write(`${PROGRAM}: writing to stdout: ${errorLine(err)}\n`);
    }
    process.exitCode = status;
    onFailure();
  });
  return { status: () => status };
}
