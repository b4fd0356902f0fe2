import type { RecordedEvent } from "../../event-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { hasPersonalValues } from "../../schemas/personal-data.js";

/** How many decoded events wait at most for the other runtime (the oldest go first). */
const DEFAULT_CAPACITY = 4096;
/**
 * Of them, how many lot period openings at most (`hasPersonalValues`): one holds the lot's active
 * bookings, up to the event store's largest write (1 MiB by default), so a runtime far behind the
 * other (a period close of every lot at once) must not make this hold thousands.
 */
const DEFAULT_BULKY_CAPACITY = 8;

/**
 * Events decoded by one runtime of a group, kept for the other (decoding, with the sealed fields
 * opened, was 14% of the processors' thread): whichever reads an event first decodes it, the
 * other takes it. Nothing else is shared; a runtime behind only finds fewer events here.
 *
 * Personal data: what is kept holds the opened personal fields, so
 * - an event is taken once (with two runtimes, the only other reader) and dropped as it is;
 * - at most `capacity` are kept, the oldest dropped first (events only one runtime reads), and of
 *   them at most `bulkyCapacity` lot period openings (one more is not kept: decoded by each);
 * - a runtime that reads a `CustomerErased` forgets everything before it decodes its batch
 *   (`forget`), so once the erasure is in either runtime's hands no event decoded before it is
 *   handed out: the events around it are decoded again, under the keys as they are then. (The
 *   erasure is recorded before its keys are deleted, write-side/customer-erasure.ts: an event
 *   decoded in between holds the plaintext, as it would without this, and is handed out at most
 *   once, to the other runtime.)
 *
 * The events handed out are shared between the runtimes' processors: processors never change an
 * event (projections are pure, reactors act on it), as within one batch already.
 */
export class DecodedEvents {
  /** By the event's prepare position (unique per event in the log), the oldest first. */
  private readonly kept = new Map<number, StoredDomainEvent>();
  /** The keys of the openings among them. */
  private readonly bulky = new Set<number>();

  constructor(
    private readonly capacity = DEFAULT_CAPACITY,
    private readonly bulkyCapacity = DEFAULT_BULKY_CAPACITY,
  ) {}

  /** The event another runtime decoded, removed from here; undefined when it is not kept. */
  take(record: RecordedEvent): StoredDomainEvent | undefined {
    const key = record.position.prepare;
    const stored = this.kept.get(key);
    if (stored === undefined) return undefined;
    this.drop(key);
    // The same event (a position from another log, e.g. a store rebuilt under it, is decoded anew).
    const same = stored.id === record.id && stored.position.commit === record.position.commit;
    return same ? stored : undefined;
  }

  /** Keeps an event just decoded for the other runtime. */
  keep(record: RecordedEvent, stored: StoredDomainEvent): void {
    const key = record.position.prepare;
    if (this.capacity <= 0) return;
    if (hasPersonalValues(record.type)) {
      if (this.bulky.size >= this.bulkyCapacity) return;
      this.bulky.add(key);
    }
    this.kept.set(key, stored);
    if (this.kept.size > this.capacity) this.drop(this.kept.keys().next().value as number);
  }

  /** An erasure was read: nothing decoded before it may be handed out. */
  forget(): void {
    this.kept.clear();
    this.bulky.clear();
  }

  private drop(key: number): void {
    this.kept.delete(key);
    this.bulky.delete(key);
  }

  get size(): number {
    return this.kept.size;
  }
}
