import { SchemaValidationError, validate } from "../platform/validation.js";
import { type DomainEvent, EventDataSchemas, EventMetadata, type EventType } from "./events.js";

// The generic half lives in platform/ (it knows no domain); the domain's schemas use it from here.
export { ajv, type FieldError, precompile, SchemaValidationError, validate } from "../platform/validation.js";

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EventDataSchemas, type);
}

/** Validates an event payload of a known type (on write and on read). */
export function validateEvent(type: string, data: unknown): DomainEvent {
  if (!isEventType(type))
    throw new SchemaValidationError([{ field: "type", message: `unknown event type ${type}` }], "event");
  return { type, data: validate(EventDataSchemas[type], data, `${type} event`) } as DomainEvent;
}

export function validateMetadata(metadata: unknown): EventMetadata {
  return validate(EventMetadata, metadata, "event metadata");
}
