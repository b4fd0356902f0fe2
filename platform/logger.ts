import { type Logger, pino } from "pino";

export type { Logger };

/** Structured JSON logs on stdout; the correlation id rides on each request's child logger. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "parking-reservations", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["req.headers.authorization", "req.headers.cookie"], remove: true },
  });
}
