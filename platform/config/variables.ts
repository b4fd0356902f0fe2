import { Kind, OptionalKind, type TSchema } from "@sinclair/typebox";
import {
  eventStoreConnectionString,
  listenHost,
  mongodbConnectionString,
  mongodbDatabaseName,
  postgresConnectionString,
} from "./connection-strings.js";
import {
  absoluteUri,
  algorithm,
  audience,
  boolean,
  claimPath,
  clientId,
  directory,
  grantPrefix,
  httpUrl,
  instanceName,
  integer,
  issuerIdentifier,
  listOf,
  oneOf,
  optional,
  type Parser,
  providerKey,
  ratio,
  roleMap,
  scope,
  secret,
  tokenType,
  webOrigin,
} from "./parsers.js";
import { type Config, ConfigSchema } from "./schema.js";
import type { SettingAnnotations } from "./setting.js";

/** The parsers of the values a schema names by `format` (text the type alone does not describe). */
const FORMATS: Readonly<Record<string, Parser<unknown>>> = {
  listenHost,
  directory,
  mongodbDatabaseName,
  eventStoreConnectionString,
  mongodbConnectionString,
  postgresConnectionString,
  issuerIdentifier,
  audience,
  httpUrl,
  instanceName,
  claimPath,
  secret,
  scope,
  absoluteUri,
  webOrigin,
  clientId,
  algorithm,
  tokenType,
  roleMap,
  grantPrefix,
  providerKey,
};

type SettingSchema = TSchema &
  Partial<SettingAnnotations> & { readonly format?: string; readonly listOf?: string };

/** The parser a setting's schema describes: its format's, or its type's with the schema's bounds. */
function baseParser(schema: SettingSchema): Parser<unknown> {
  if (schema.format !== undefined) {
    const parser = FORMATS[schema.format];
    if (!parser) throw new Error(`no parser for format ${schema.format}`);
    return parser;
  }
  switch (schema[Kind]) {
    case "Integer":
      return integer(schema.minimum as number, schema.maximum as number | undefined);
    case "Number":
      if (schema.minimum === 0 && schema.maximum === 1) return ratio;
      break;
    case "Boolean":
      return boolean;
    case "Union":
      return oneOf((schema.anyOf as { const: string }[]).map((s) => s.const));
    case "Array":
      return listOf(baseParser(schema.items as SettingSchema) as Parser<string>, schema.listOf ?? "values");
  }
  throw new Error(`no parser for a ${String(schema[Kind])} setting (${schema.env ?? "?"})`);
}

/** How a setting is read from its variable: optional settings are undefined when unset. */
export const parserOf = (schema: SettingSchema): Parser<unknown> =>
  OptionalKind in schema ? optional(baseParser(schema)) : baseParser(schema);

/** One documented environment variable. */
export interface ConfigVariable {
  /** Environment variable name. */
  readonly name: string;
  /** Field of `Config` it sets. */
  readonly field: keyof Config;
  readonly description: string;
  /** Value used when the variable is unset or empty; undefined = the feature is off. */
  readonly default: string | undefined;
  /** What the variable accepts, in words. */
  readonly expects: string;
}

/** A variable with the parser its schema yields. */
export interface Setting extends ConfigVariable {
  readonly parser: Parser<unknown>;
}

/** Every setting, in documentation order, read off the schema. */
export const SETTINGS: readonly Setting[] = Object.entries(ConfigSchema.properties).map(([field, raw]) => {
  const schema = raw as SettingSchema;
  if (schema.env === undefined || schema.description === undefined)
    throw new Error(`setting ${field} has no environment variable or description`);
  const parser = parserOf(schema);
  return {
    name: schema.env,
    field: field as keyof Config,
    description: schema.description,
    default: schema.envDefault,
    expects: parser.expects,
    parser,
  };
});

/** Every configuration variable, in documentation order. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = SETTINGS.map(
  ({ name, field, description, default: defaultValue, expects }) => ({
    name,
    field,
    description,
    default: defaultValue,
    expects,
  }),
);
