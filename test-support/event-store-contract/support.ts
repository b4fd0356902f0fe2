import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Observable, Subscription } from "rxjs";
import { expect } from "vitest";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { EventStore, EventToAppend, ExpectedRevision, RecordedEvent } from "../../event-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";

/** What every part of the contract suite shares: the store of the running test and its helpers. */
export interface ContractContext {
  /** The store of the running test (a fresh one per test). */
  readonly store: EventStore;
  /** Starts recording a subscription (unsubscribed after the test). */
  record(observable: Observable<RecordedEvent>): Recording;
  append(
    streamId: string,
    events: readonly EventToAppend[],
    expectedRevision?: ExpectedRevision,
  ): ReturnType<EventStore["appendToStream"]>;
  /** Keeps `subscription` until the end of the test. */
  keep(subscription: Subscription): void;
  /**
   * A subscription from "end" is live once the store has registered it, which a remote server
   * does asynchronously: append probes to a stream of the test until one comes through.
   */
  untilLive(recording: Recording, probeStream: string): Promise<void>;
}

export interface Recording {
  readonly events: RecordedEvent[];
  error: unknown;
  completed: boolean;
  subscription: Subscription | undefined;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A category of streams no other test (or earlier run against a shared server) uses. */
export function newCategory(): string {
  return `c${randomUUID().replaceAll("-", "")}-`;
}

export function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, (_, i) => ({ type: "Happened", data: { i }, metadata: { i } }));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

export function expectWrongRevision(
  error: unknown,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | "no_stream",
): void {
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  const wrong = error as WrongExpectedRevisionError;
  expect(wrong.streamId).toBe(streamId);
  expect(wrong.expected).toBe(expected);
  expect(wrong.actual).toBe(actual);
}

export function expectIncreasing(positions: readonly Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    expect(comparePositions(positions[i] as Position, positions[i - 1] as Position)).toBeGreaterThan(0);
  }
}

export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
