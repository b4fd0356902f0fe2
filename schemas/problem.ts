import { type Static, Type } from "@sinclair/typebox";

/** An `application/problem+json` body (RFC 9457), with the fields a validation problem names. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: "Stable identifier of the kind of problem." }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String(),
          message: Type.String({ description: "What is wrong and what it expects, in English." }),
          code: Type.Optional(
            Type.String({
              description:
                "What the field broke, by its JSON Schema keyword (required, minimum, maximum, minLength, maxLength, pattern, format, …): words in another language are chosen by it.",
            }),
          ),
          limit: Type.Optional(Type.Number({ description: "The bound a size or range keyword named." })),
        }),
        {
          description: "For validation problems: each field that was wrong and what it expects.",
        },
      ),
    ),
  },
  { $id: "Problem", additionalProperties: true },
);
export type Problem = Static<typeof Problem>;
