import { BroadcastChannel } from "node:worker_threads";

/** Where a rebuild announces its switch to every thread of the process (other processes poll). */
export const GENERATION_SWITCHES = "projection-generation-switches";

/** Tells every listening thread of this process that `generations` are active now. */
export function announceSwitch(generations: Record<string, { from: number; to: number }>): void {
  const channel = new BroadcastChannel(GENERATION_SWITCHES);
  channel.postMessage({ generations });
  channel.close();
}

/** Calls `listener` on each switch announced in this process; returns how to stop listening. */
export function onGenerationSwitch(listener: () => void): () => void {
  const channel = new BroadcastChannel(GENERATION_SWITCHES);
  channel.onmessage = () => listener();
  // A listener never keeps the process alive.
  channel.unref();
  return () => channel.close();
}
