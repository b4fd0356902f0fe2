import { type Static, Type } from "@sinclair/typebox";

/**
 * Who acted: recorded in every event's metadata (never the token itself). A customer's `sub` is
 * their customer id; operators act on anyone's behalf; `system` is a reactor such as the coupon
 * policy.
 */
export const ACCESS_ROLES = ["customer", "operator"] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

export const OPERATOR: readonly AccessRole[] = ["operator"];
export const ANY_ROLE: readonly AccessRole[] = ACCESS_ROLES;

export const Actor = Type.Object(
  {
    sub: Type.String({ minLength: 1, maxLength: 255 }),
    role: Type.Union([Type.Literal("customer"), Type.Literal("operator"), Type.Literal("system")]),
  },
  { additionalProperties: false, $id: "Actor" },
);
export type Actor = Static<typeof Actor>;

/** The actor of an authenticated caller: an operator if the token has that role, else a customer. */
export function actorOf(principal: { readonly sub: string; readonly roles: readonly string[] }): Actor {
  return { sub: principal.sub, role: principal.roles.includes("operator") ? "operator" : "customer" };
}

export const systemActor = (name: string): Actor => ({ sub: name, role: "system" });
