import { filter, map, type Observable } from "rxjs";
import type { LogMessage, RecordedEvent } from "./port.js";

/** The events of a followed subscription, without its progress messages (what subscribeToAll delivers). */
export function eventsOf(messages: Observable<LogMessage>): Observable<RecordedEvent> {
  return messages.pipe(
    filter((m): m is Extract<LogMessage, { kind: "event" }> => m.kind === "event"),
    map((m) => m.event),
  );
}
