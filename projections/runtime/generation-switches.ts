import { BroadcastChannel } from "node:worker_threads";

/**
 * The channel a rebuild announces its switch on, the moment its generations are active: every
 * thread of the process that listens (the live runtime, the query side) reads the active
 * generations again at once. Another process notices by reading them again (polling is the
 * cross-process fallback).
 */
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
