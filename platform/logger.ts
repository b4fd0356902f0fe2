import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** Where lines go: JSON for collectors, readable lines for a person at a terminal. */
export type LogOutput = "json" | "pretty";

/** `auto` is pretty exactly when stdout is a terminal (`npm start` in a shell; not CI, not a container). */
export const resolveLogOutput = (
  format: LogOutput | "auto",
  stdoutIsTTY = process.stdout.isTTY === true,
): LogOutput => (format === "auto" ? (stdoutIsTTY ? "pretty" : "json") : format);

interface AccessFields {
  readonly correlationId?: string;
  readonly req?: { readonly method?: string; readonly path?: string };
  readonly res?: { readonly statusCode?: number };
  readonly responseTime?: number;
}

/** An access line reads like a terminal's: `GET /parking-lots 200 1.8 ms [correlation id]`. */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const { req, res, responseTime, correlationId } = log as AccessFields;
  const message = String(log[messageKey] ?? "");
  if (!req?.method || res?.statusCode === undefined) return message;
  const duration = typeof responseTime === "number" ? ` ${responseTime.toFixed(1)} ms` : "";
  const aborted = message === "request completed" ? "" : ` (${message})`;
  return `${req.method} ${req.path ?? ""} ${res.statusCode}${duration}${aborted}${correlationId ? ` [${correlationId}]` : ""}`;
}

/**
 * Structured logs on stdout; the correlation id rides on each request's child logger. Pretty
 * output is formatted on the same thread, synchronously (no transport worker), so a crash loses
 * no line and the order of lines is the order of events.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  output: LogOutput = "json",
  /** Each line written before the call returns (a thread about to end the process needs it). */
  sync = false,
): Logger {
  const options = {
    level,
    base: { service: "parking-reservations", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["req.headers.authorization", "req.headers.cookie"], remove: true },
  };
  if (output === "json")
    return sync ? pino(options, pino.destination({ dest: 1, sync: true })) : pino(options);
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY === true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service,req,res,responseTime,correlationId",
      messageFormat: prettyMessage,
      singleLine: true,
    }),
  );
}
