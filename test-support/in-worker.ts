import { Worker } from "node:worker_threads";
import { workerSource } from "../platform/worker-source.js";

/** What a worker of answerInWorker posts: "ready" once set up, then its answer. */
export type WorkerMessage<T> = { readonly ready: true } | { readonly answer: T };

/**
 * Runs the module `tsModule` (`./name.ts`, relative to `base`, a module's import.meta.url) in a
 * worker thread: it posts `{ ready: true }` once set up (within `loadMs`: loading and compiling
 * take their time on a busy machine), then `{ answer }` within `answerMs`. A worker that misses
 * either is terminated and the promise rejects: a loop that never ends fails its test by this
 * timeout, even one that starves its own thread's event loop (an endless chain of awaits on what is
 * already resolved never lets a timer of that thread fire, so vitest's own timeout could not).
 */
export function answerInWorker<T>(
  tsModule: string,
  base: string,
  budget: { readonly loadMs: number; readonly answerMs: number },
): Promise<T> {
  const source = workerSource(tsModule, base);
  const worker = new Worker(source.code, { eval: source.eval });
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const within = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`${tsModule} did not ${what} within ${ms} ms (terminated)`));
      }, ms);
    };
    const end = () => {
      clearTimeout(timer);
      void worker.terminate();
    };
    within(budget.loadMs, "get ready");
    worker.on("message", (message: WorkerMessage<T>) => {
      if ("ready" in message) return within(budget.answerMs, "answer");
      end();
      resolve(message.answer);
    });
    worker.once("error", (error) => {
      end();
      reject(error);
    });
    worker.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${tsModule} exited with ${code} before answering`));
    });
  });
}
