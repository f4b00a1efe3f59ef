import { parseArgs } from 'node:util';
import { KioskError, isKioskError } from './errors.js';

/**
 * Runs a CLI's main function with the project's exit-code contract:
 * 0 success, 1 a typed failure (message `name: error [CODE]: ...`), 2 usage error, 70 an unexpected bug.
 */
export function runCli(name: string, main: () => Promise<number | void>): void {
  // `kiosk-card readers | head`: a closed pipe ends the command quietly, as UNIX tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      if (isKioskError(err)) {
        process.stderr.write(`${name}: error [${err.code}]: ${err.message}\n`);
        process.exitCode = err.code === 'USAGE' ? 2 : 1;
      } else {
        process.stderr.write(`${name}: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 70;
      }
    },
  );
}

export type Subcommand = (args: string[]) => Promise<number | void>;

/**
 * A multi-command CLI (`tool COMMAND [ARGS]`): runs the named command under runCli; no command prints the help and
 * exits 2, `--help`/`-h`/`help` prints it and exits 0, an unknown one is a USAGE error.
 */
export function runCommands(name: string, help: string, commands: Record<string, Subcommand>): void {
  runCli(name, async () => {
    const [command, ...rest] = process.argv.slice(2);
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${help}\n`);
      return command === undefined ? 2 : 0;
    }
    const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!run) throw new KioskError('USAGE', `unknown command "${command}"\n\n${help}`);
    return run(rest);
  });
}

type ParseArgsConfig = NonNullable<Parameters<typeof parseArgs>[0]>;

/** node:util parseArgs with its errors turned into USAGE errors that carry the command's help text. */
export function parseCliArgs<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new KioskError('USAGE', `${(err as Error).message}\n\n${help}`);
  }
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, systemd stop); a CLI then stops what it started, in order. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
