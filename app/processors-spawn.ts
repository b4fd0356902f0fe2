import { Worker } from "node:worker_threads";
import type { Config } from "../platform/config.js";
import type { StallBoard } from "../platform/stall-board.js";
import { workerSource } from "../platform/worker-source.js";

/** Whether a process of `config` runs its processors in a worker thread (ROLE=all, the default). */
export const processorsInWorker = (config: Config): boolean =>
  config.role === "all" && config.processorsThread === "worker";

/**
 * The processors thread, spawned: it loads its modules, then waits for the request thread's "go"
 * (ProcessorThread.start, once this thread's stores are open) before it opens its own. Light on
 * imports, so that app/main.ts can spawn it before loading the service's modules and both threads
 * load theirs side by side (issue 50).
 */
export interface SpawnedProcessors {
  readonly worker: Worker;
  /** The CommitSignal's memory (app/append-relay.ts), shared with the worker. */
  readonly commits: SharedArrayBuffer;
  /** How the worker ended if it did before ProcessorThread.start listened (a module that failed to load). */
  readonly ended: { reason?: Error };
}

export function spawnProcessors(config: Config, stallBoard?: StallBoard): SpawnedProcessors {
  const source = workerSource("./processors-worker.ts", import.meta.url);
  // The CommitSignal's size: the head (8 bytes) and the pending flag (4), aligned.
  const commits = new SharedArrayBuffer(16);
  // With tracing on, the worker starts its own SDK and exporter (createServices, in that thread).
  const worker = new Worker(source.code, {
    eval: source.eval,
    // The board it beats on: the process's watchdog ends the process if it stops (a stuck projection).
    workerData: { config, commits, stallBoard: stallBoard?.buffer },
  });
  const ended: SpawnedProcessors["ended"] = {};
  worker.once("error", (error) => {
    ended.reason ??= error;
  });
  worker.once("exit", (code) => {
    ended.reason ??= new Error(`the processors thread exited (${code}) before it started`);
  });
  return { worker, commits, ended };
}
