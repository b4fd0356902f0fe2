import { useEffect, useRef, useState } from "preact/hooks";
import { api, type ParkingLotDetail, type TimelineView } from "./api.js";

/**
 * Reads `load(key)` whenever `key` or `tick` changes, one read at a time: changes that arrive while
 * a read is under way coalesce into one more read, and an answer for a key that is no longer the
 * current one is dropped and read again. A live update a second must not mean a read a second
 * piling up behind a slow one.
 */
export function useCoalescedRead<K, T>(
  key: K,
  tick: number,
  load: (key: K) => Promise<T>,
  deliver: (value: T) => void,
  fail: (error: unknown) => void,
): void {
  const reading = useRef({ busy: false, again: false, key });
  reading.current.key = key;
  const handlers = useRef({ load, deliver, fail });
  handlers.current = { load, deliver, fail };
  useEffect(() => {
    const state = reading.current;
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    void (async () => {
      try {
        do {
          state.again = false;
          const asked = state.key;
          const value = await handlers.current.load(asked);
          if (asked === state.key) handlers.current.deliver(value);
          else state.again = true;
        } while (state.again);
      } catch (error) {
        handlers.current.fail(error);
      } finally {
        state.busy = false;
      }
    })();
  }, [key, tick]);
}

/**
 * The lot's detail from the API, read again on every live update. Free now and the next hours
 * are computed by the service at its clock, so they follow windows starting and ending.
 */
export function useLotNow(parkingLotId: string, tick: number): ParkingLotDetail | null {
  const [lot, setLot] = useState<ParkingLotDetail | null>(null);
  useCoalescedRead(parkingLotId, tick, api.parkingLot, setLot, () => {
    // The list's figures stay shown; the next update reads again.
  });
  return lot?.parkingLotId === parkingLotId ? lot : null;
}

/**
 * The lot's next 24 hours by quarter hour, read again on every live update; with `asOf`, the
 * timeline as it was then (read once: the past does not change).
 */
export function useTimeline(
  parkingLotId: string,
  tick: number,
  asOf: string | null = null,
): TimelineView | null {
  const [view, setView] = useState<TimelineView | null>(null);
  const key = `${parkingLotId}\n${asOf ?? ""}`;
  useCoalescedRead(
    key,
    asOf ? 0 : tick,
    () => api.timeline(parkingLotId, asOf ? { asOf } : {}),
    setView,
    () => {
      // The last timeline stays shown; the next update reads again.
    },
  );
  // The answer for the lot and the moment asked (the one before a change is not shown).
  const fits = view?.parkingLotId === parkingLotId && (view.asOf?.at ?? null) === asOf;
  return fits ? view : null;
}
