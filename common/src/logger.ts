import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactDeep, scrubText } from './redact.js';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  name: string;
  level?: LoggerOptions['level'];
  /** Where lines go; stderr by default so that CLI output on stdout stays machine-readable. */
  destination?: DestinationStream;
}

// `name` at the top of the bindings is the logger's own name, not a person's.
function redactBindings({ name, ...rest }: Record<string, unknown>): Record<string, unknown> {
  return { ...(name === undefined ? {} : { name }), ...(redactDeep(rest) as Record<string, unknown>) };
}

/** A pino logger that never prints personal data: see redact.ts for what is removed and why. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    base: { pid: process.pid },
    formatters: {
      log: (obj) => redactDeep(obj) as Record<string, unknown>,
      bindings: redactBindings,
    },
    hooks: {
      // Scrub the message text too (interpolated arguments included): a message may quote a card or QR field.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
  const logger = pino(pinoOptions, options.destination ?? pino.destination(2));
  // pino drops the bindings formatter for children unless one is passed again; children inherit this override.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the child logger as `this`
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, bindings, { ...childOptions, formatters: { ...childOptions?.formatters, bindings: redactBindings } });
  } as Logger['child'];
  return logger;
}
