import { type TLiteral, type TUnion, Type } from "@sinclair/typebox";

/**
 * What the schema of a configuration variable carries beside the type of its value: the
 * environment variable, its default as written in the environment (undefined: the feature is
 * off), and what it is for. The parser, the `Config` type and the docs table are all read off it.
 */
export interface SettingAnnotations {
  readonly env: string;
  readonly envDefault: string | undefined;
  readonly description: string;
}

export const env = (
  name: string,
  envDefault: string | undefined,
  description: string,
): SettingAnnotations => ({
  env: name,
  envDefault,
  description,
});

/** One of a fixed list of strings. */
export const literals = <const T extends readonly string[]>(values: T, options: object = {}) =>
  Type.Union(values.map((value) => Type.Literal(value)) as TLiteral<T[number]>[], options) as TUnion<
    TLiteral<T[number]>[]
  >;
