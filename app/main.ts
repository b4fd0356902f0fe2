import { enableCompileCache, flushCompileCache } from "../platform/compile-cache.js";
import { ConfigError, configWarnings, loadConfig, redactConfig } from "../platform/config.js";
import { createLogger, resolveLogOutput } from "../platform/logger.js";
import { StallBoard } from "../platform/stall-board.js";
import { useBuiltValidators } from "./generated-validators.js";
import { processorsInWorker, spawnProcessors } from "./processors-spawn.js";

/** Entry point: validate configuration, start the role, and shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Resolved once here, so the processors' worker thread (whose stdout is not a terminal) writes
  // the same format as this thread.
  const logOutput = resolveLogOutput(config.logFormat);
  config = { ...config, logFormat: logOutput };
  const logger = createLogger(config.logLevel, { role: config.role }, logOutput);
  // Before the service's modules load: they are most of what a start compiles.
  enableCompileCache();
  // The processors thread loads its modules while this one loads the service's (issue 50); it
  // opens its stores once this thread has opened its own.
  const stallBoard = new StallBoard();
  const processorsWorker = processorsInWorker(config) ? spawnProcessors(config, stallBoard) : undefined;
  // Imported here, not above: a store driver that cannot load on this Node.js (platform/sqlite.ts)
  // throws while the modules load, and main's catch then says so in one line.
  const { startService } = await import("./server.js");
  // The validators the build generated (none under tsx), before the warm-up would compile them.
  await useBuiltValidators();
  // Valid but most likely not meant (a claim path that can never match): said before anything runs.
  for (const { variable, message } of configWarnings(config)) logger.warn({ variable }, message);
  const service = await startService(config, logger, {
    stallBoard,
    ...(processorsWorker ? { processorsWorker } : {}),
  });
  // Before anything else is awaited: the service already answers /healthz, so an orchestrator
  // (or a test) may send SIGTERM from here on.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, "graceful shutdown timed out; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    // Ctrl-C is a person at a terminal, not a load balancer: no drain.
    service.shutdown(signal, { drain: signal !== "SIGINT" }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  logger.info({ config: redactConfig(config), url: service.url }, "started");
  flushCompileCache();
  if (process.stdout.isTTY || process.env.npm_lifecycle_event === "start") {
    const api = config.role === "projector" ? "" : ` API docs ${service.url}/docs ·`;
    process.stderr.write(
      `\nParking reservations (${config.role}) listening on ${service.url} ·${api} control center ${service.url}/control-center · health ${service.url}/readyz · metrics ${service.url}/metrics\n${tokenHelp(config, service.url)}\n`,
    );
  }
  // From here on a thread blocked past EVENT_LOOP_STALL_MS ends the process (platform/event-loop-watch.ts).
  await service.loop.startWatchdog({
    level: config.logLevel,
    output: logOutput,
    base: { role: config.role },
  });
}

/** How to get a token, for the banner. */
function tokenHelp(config: ReturnType<typeof loadConfig>, url: string): string {
  if (config.authIssuer !== undefined) {
    return `Tokens: access tokens of ${config.authIssuer} with audience ${config.authAudience}.\n`;
  }
  return [
    "Tokens (development issuer, key under DATA_DIR/auth), in another terminal:",
    "  npm run -s token -- --role operator --sub ops-1      # or --role customer --sub CUST1",
    `  npm run -s token -- --role operator --sub ops-1 --sign-in-url ${url}   # browser sign-in link`,
    "",
  ].join("\n");
}

main().catch((error: unknown) => {
  // Said in one line, not as a stack trace: what to do is in the message.
  if (error instanceof Error && ["PortInUseError", "NativeModuleError"].includes(error.name)) {
    process.stderr.write(`failed to start: ${error.message}\n`);
    process.exit(1);
  }
  // The stores' folder cannot be made or written (a file in its place, no permission, a read-only
  // mount): said in one line with the variable to change (issue 67).
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  if (
    typeof path === "string" &&
    ["ENOTDIR", "EACCES", "EPERM", "EROFS", "EEXIST", "ENOSPC"].includes(String(code))
  ) {
    process.stderr.write(
      `failed to start: ${(error as Error).message}; set DATA_DIR to a directory this user can create and write\n`,
    );
    process.exit(1);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
