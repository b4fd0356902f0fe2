import type { EventFilter } from "./port.js";

/**
 * An EventFilter checked and normalised once, shared by the adapters:
 * - `eventTypes` and `streamPrefixes` together are rejected (the port allows one or the other);
 * - an empty list selects nothing; a `""` prefix selects everything;
 * - duplicate types are dropped, and so is any prefix that another prefix in the list already covers,
 *   so the remaining selections are disjoint.
 */
export type CompiledEventFilter =
  | { readonly kind: "all" }
  | { readonly kind: "none" }
  | { readonly kind: "types"; readonly eventTypes: readonly string[] }
  | { readonly kind: "prefixes"; readonly streamPrefixes: readonly string[] };

export function compileEventFilter(filter: EventFilter | undefined): CompiledEventFilter {
  if (filter === undefined) return { kind: "all" };
  const { eventTypes, streamPrefixes } = filter;
  if (eventTypes !== undefined && streamPrefixes !== undefined) {
    throw new RangeError("an event filter takes eventTypes or streamPrefixes, not both");
  }
  if (eventTypes !== undefined) {
    const unique = [...new Set(eventTypes)];
    return unique.length === 0 ? { kind: "none" } : { kind: "types", eventTypes: unique };
  }
  if (streamPrefixes !== undefined) {
    if (streamPrefixes.includes("")) return { kind: "all" };
    const unique = [...new Set(streamPrefixes)];
    const kept = unique.filter((p) => !unique.some((q) => q !== p && p.startsWith(q)));
    return kept.length === 0 ? { kind: "none" } : { kind: "prefixes", streamPrefixes: kept };
  }
  return { kind: "all" };
}

/** A predicate over (streamId, type) equivalent to the compiled filter. */
export function eventMatcher(filter: CompiledEventFilter): (streamId: string, type: string) => boolean {
  switch (filter.kind) {
    case "all":
      return () => true;
    case "none":
      return () => false;
    case "types": {
      const types = new Set(filter.eventTypes);
      return (_streamId, type) => types.has(type);
    }
    case "prefixes": {
      const prefixes = filter.streamPrefixes;
      if (prefixes.length === 1) {
        const only = prefixes[0] as string;
        return (streamId) => streamId.startsWith(only);
      }
      return (streamId) => prefixes.some((p) => streamId.startsWith(p));
    }
  }
}
