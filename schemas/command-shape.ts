import { type TProperties, Type } from "@sinclair/typebox";
import { Timestamp } from "./common.js";

/** A command's schema: its type, its fields and the instant it is decided at, nothing else. */
export const command = <T extends string, P extends TProperties>(type: T, fields: P) =>
  Type.Object({ type: Type.Literal(type), ...fields, now: Timestamp }, { additionalProperties: false });
