import { Worker } from "node:worker_threads";
import { workerSource } from "../platform/worker-source.js";

/**
 * Runs the module `tsModule` (`./name.ts`, relative to `base`, a module's import.meta.url) in a
 * worker thread and resolves with the first message it posts. A worker that has not posted within
 * `ms` is terminated and the promise rejects: a loop that never ends fails its test by this
 * timeout, even one that starves its own thread's event loop (an endless chain of awaits on what is
 * already resolved never lets a timer of that thread fire, so vitest's own timeout could not).
 */
export function firstMessageOf<T>(tsModule: string, base: string, ms: number): Promise<T> {
  const source = workerSource(tsModule, base);
  const worker = new Worker(source.code, { eval: source.eval });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${tsModule} did not answer within ${ms} ms (terminated)`));
    }, ms);
    const end = () => {
      clearTimeout(timer);
      void worker.terminate();
    };
    worker.once("message", (message: T) => {
      end();
      resolve(message);
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
