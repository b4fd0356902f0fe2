import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { createLogger, type LogOutput } from "./logger.js";
import { StallBoard, WATCHED_THREADS } from "./stall-board.js";

/**
 * The watchdog thread (started by EventLoopWatch.startWatchdog): it reads the heartbeats of the
 * process's threads from shared memory and, when one has not beaten for longer than the bound
 * (its event loop is blocked: a synchronous loop that never ends), logs at ERROR with the
 * requests that were in flight, counts the stall, and ends the whole process with SIGKILL. That
 * thread cannot do it itself (it is blocked), nor can SIGTERM (Node runs signal handlers on the
 * main thread's loop), and `process.exit` here would end only this thread. Its log line is
 * written to file descriptor 1 by this thread (pino's destination), not through the main thread.
 */
interface WatchdogData {
  readonly buffer: SharedArrayBuffer;
  readonly boundMs: number;
  readonly checkMs: number;
  readonly logLevel: string;
  readonly logOutput: LogOutput;
  readonly base: Record<string, unknown>;
}

const data = workerData as WatchdogData;
const board = new StallBoard(data.buffer);
const logger = createLogger(data.logLevel, { ...data.base, thread: "watchdog" }, data.logOutput, true);

/** Each thread's last heartbeat seen and when it changed (this thread's monotonic clock). */
const seen = WATCHED_THREADS.map((thread) => ({ thread, beats: board.beats(thread), at: performance.now() }));

let lastCheck = performance.now();

const timer = setInterval(() => {
  const now = performance.now();
  // This thread ran late too: the whole process was paused (SIGSTOP, a frozen container, a
  // suspended machine), not one thread blocked. Every heartbeat gets a fresh start.
  const paused = now - lastCheck > data.boundMs / 2;
  lastCheck = now;
  for (const watched of seen) {
    const beats = board.beats(watched.thread);
    if (beats !== watched.beats || beats === 0 || paused) {
      // Beating (or not started yet: a thread is watched from its first beat).
      watched.beats = beats;
      watched.at = now;
      continue;
    }
    const stalledMs = Math.round(now - watched.at);
    if (stalledMs <= data.boundMs) continue;
    clearInterval(timer);
    board.countStall();
    const inFlight = watched.thread === "main" ? board.inFlight() : [];
    logger.error(
      {
        blockedThread: watched.thread,
        stalledMs,
        boundMs: data.boundMs,
        route: inFlight[0]?.route,
        inFlight,
      },
      `the ${watched.thread} thread's event loop has been blocked for ${stalledMs} ms (EVENT_LOOP_STALL_MS ${data.boundMs}): ending the process so that it is restarted`,
    );
    // The line is written (synchronously, to file descriptor 1): nothing of this process runs after.
    process.kill(process.pid, "SIGKILL");
    return;
  }
}, data.checkMs);

// Watching from now on (the only message this thread ever sends).
parentPort?.postMessage("watching");
