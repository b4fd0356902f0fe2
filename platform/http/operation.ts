import type { Static, TSchema } from "@sinclair/typebox";
import type { Request } from "express";
import type { ProblemName } from "./problem.js";

/**
 * One operation of an HTTP API, defined once: its method and path, the schemas of its request and
 * answers, who may call it and the problems it can answer. The composition root combines the
 * tables each side keeps beside its routes and generates from them the access check, the 405 and
 * OPTIONS answers of every path and the OpenAPI document (app/surface/).
 */

export type Side = "commands" | "queries" | "app";
export type Method = "get" | "post" | "put" | "patch" | "delete";
export type Json = Record<string, unknown>;

/** Who may call an operation: anyone, or a bearer token with any one of these roles. */
export type Allow = "anonymous" | readonly string[];

export interface Operation {
  readonly method: Method;
  /** OpenAPI path template: `/parking-lots/{parkingLotId}`. */
  readonly path: string;
  readonly operationId: string;
  /** Which role serves it: commands (ROLE=command|all), queries (ROLE=query|all), app (every role). */
  readonly side: Side;
  readonly tag: "commands" | "queries" | "control-center" | "operations" | "documentation";
  readonly summary: string;
  readonly description?: string;
  /** Who may call it (enforced before any route runs, and said by the document's `security`). */
  readonly allow: Allow;
  /**
   * Who may call it when a condition of the request holds, checked before `allow` (a browser asking
   * for the HTML page; a lot asked as of a moment of the past).
   */
  readonly allowWhen?: readonly { readonly when: (req: Request) => boolean; readonly allow: Allow }[];
  /**
   * What the caller may touch beyond its roles, decided from the caller and the validated path
   * alone (a customer reads only their own coupons; a session is started from this site only):
   * run after the path is validated and before the rest of the request is, so that a caller
   * learns no more of someone else's resource than a 403.
   */
  readonly authorize?: (req: Request, path: Readonly<Record<string, string>>) => void;
  /**
   * The path and header parameters. Those made by pathParameter() and headerParameter() carry
   * their schema, and the route validates the request against it before its handler runs.
   */
  readonly parameters?: readonly Json[];
  /** Request headers its answers depend on (content negotiation): said in `Vary` on every answer of its route. */
  readonly vary?: readonly string[];
  /** The query string, validated by this schema (unknown parameters are refused with 400). */
  readonly query?: TSchema;
  /**
   * Requests for the operation's HTML page rather than its JSON (a browser's). The page's query
   * is the page's own (an OpenID Provider sends the browser back with `code`, `state` and `iss`;
   * the sign-in screen takes `again`): it is not checked against `query`.
   */
  readonly pageWhen?: (req: Request) => boolean;
  readonly body?: {
    readonly schema: TSchema;
    readonly required: boolean;
    readonly example?: Json;
    /**
     * A stricter schema for a role, when the roles' bodies differ (an operator must name the
     * customer or give a reason): the route validates with it, the document shows it in
     * `x-role-schemas` and says so in the request body's description.
     */
    readonly byRole?: { readonly customer?: TSchema; readonly operator?: TSchema };
  };
  /**
   * The operation's rules that JSON Schema cannot say (the clock, the lot's state, the log), each
   * starting with the field a 400 names: written in its description (app/surface/requests.ts).
   */
  readonly rules?: readonly string[];
  /** Success (and other non-problem) responses by status. */
  readonly responses: Readonly<Record<string, Json>>;
  /**
   * Its work is expensive (it grows with the answer's range or a lot's log): it runs behind the
   * endpoint's work gate (a bounded number at once, a bounded queue, 503 with Retry-After past
   * it), always or for the requests this says (an `asOf` view).
   */
  readonly expensive?: true | ((req: Request) => boolean);
  /** Statuses also answered with an HTML page (a browser's sign-in screen), besides problem+json. */
  readonly htmlStatuses?: readonly number[];
  /**
   * Problems of this operation's own route (its handler, the decider's rejections it maps, the
   * stores it reads), beyond those derived from where it sits in the middleware chain.
   */
  readonly problems?: readonly ProblemName[];
}

/** Plain JSON Schema: TypeBox's symbols dropped, `$id`s removed (they are component names here). */
export const plain = (schema: TSchema): Json =>
  JSON.parse(JSON.stringify(schema, (key, value) => (key === "$id" ? undefined : value)));

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
export const CORRELATION = { "X-Correlation-Id": header("X-Correlation-Id") };

/** The schema a JSON answer's body is held to (kept out of the document: not enumerable). */
const ANSWERED_WITH = Symbol("answered with");

/** A response of an operation whose JSON body is `S`: its handler's answer is typed `Static<S>`. */
export type JsonAnswer<S extends TSchema = TSchema> = Json & { readonly [ANSWERED_WITH]: S };

/** The schema of a response's JSON body, if it was declared with jsonResponse(). */
export const answerSchema = (response: Json): TSchema | undefined =>
  (response as { [ANSWERED_WITH]?: TSchema })[ANSWERED_WITH];

/** A `$ref` to the component a named schema (one with an `$id`) is in the document. */
export function schemaRef(schema: TSchema) {
  if (typeof schema.$id !== "string") throw new Error("A schema named in the document needs an $id.");
  return ref(schema.$id);
}

/**
 * A JSON answer whose body is `schema`, by value: the document names it by its `$id` (its
 * component, app/surface/components.ts), and the handler's answer is typed against it.
 */
export const jsonResponse = <S extends TSchema>(
  description: string,
  schema: S,
  headers: Json = {},
  example?: unknown,
): JsonAnswer<S> =>
  Object.defineProperty(
    {
      description,
      headers: { ...CORRELATION, ...headers },
      content: { "application/json": { schema: schemaRef(schema), ...(example ? { example } : {}) } },
    },
    ANSWERED_WITH,
    { value: schema, enumerable: false },
  ) as unknown as JsonAnswer<S>;

/** The same JSON answer, or text of this media type (a page for a browser: content negotiation). */
export const orText = <S extends TSchema>(response: JsonAnswer<S>, mediaType: string): JsonAnswer<S> =>
  Object.defineProperty(
    { ...response, content: { ...(response.content as Json), [mediaType]: { schema: { type: "string" } } } },
    ANSWERED_WITH,
    { value: response[ANSWERED_WITH], enumerable: false },
  ) as unknown as JsonAnswer<S>;

/** What an operation's handler may answer as JSON: the bodies of its jsonResponse()s (else anything). */
export type AnswerOf<O> = O extends { readonly responses: infer R }
  ? [AnswerSchemas<R>] extends [never]
    ? unknown
    : Static<AnswerSchemas<R>>
  : unknown;
type AnswerSchemas<R> = {
  [K in keyof R]: R[K] extends { readonly [ANSWERED_WITH]: infer S extends TSchema } ? S : never;
}[keyof R];

/** An answer whose body is text of this media type: a page, an event stream, the metrics. */
export const textResponse = (description: string, mediaType: string, headers: Json = {}) => ({
  description,
  headers: { ...CORRELATION, ...headers },
  content: { [mediaType]: { schema: { type: "string" } } },
});

/** The TypeBox schema a parameter is validated with (kept out of the document: not enumerable). */
const VALIDATED_BY = Symbol("validated by");

const validatedBy = <P extends Json>(parameter: P, schema: TSchema): P =>
  Object.defineProperty(parameter, VALIDATED_BY, { value: schema, enumerable: false });

/** The schema a route validates this parameter with, if it was declared with one. */
export const parameterSchema = (parameter: Json): TSchema | undefined =>
  (parameter as { [VALIDATED_BY]?: TSchema })[VALIDATED_BY];

/** A path parameter, validated by the route against `schema` (a mismatch is a 400 naming `path.<name>`). */
/** A path parameter; without `example` (an id that is the caller's own), Try it out leaves it empty. */
export const pathParameter = (name: string, schema: TSchema, example?: string) =>
  validatedBy(
    {
      name,
      in: "path",
      required: true,
      description: schema.description,
      schema: plain(schema),
      ...(example === undefined ? {} : { example }),
    },
    schema,
  );

/** An optional header, validated by the route against `schema` when sent (a 400 names `header.<name>`). */
export const headerParameter = (name: string, schema: TSchema, description: string, example?: string) =>
  validatedBy(
    {
      name,
      in: "header",
      required: false,
      description,
      schema: plain(schema),
      ...(example === undefined ? {} : { example }),
    },
    schema,
  );

/** OpenAPI path template to an express route path: `/lots/{id}` -> `/lots/:id`. */
export const expressPath = (template: string): string => template.replace(/\{(\w+)\}/g, ":$1");
