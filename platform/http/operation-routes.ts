import { type Static, type TSchema, Type } from "@sinclair/typebox";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { precompileInputs, requireJsonBody, validInput } from "./middleware.js";
import { type AnswerOf, expressPath, type Operation, parameterSchema } from "./operation.js";
import { routeTable } from "./route-table.js";

/**
 * The routes of a table of operations: one per row, each the row's generated request checks in
 * front of its one named handler. What a request passes, in order (authentication, the roles and
 * the 405 answers come before any route, app/http-app.ts):
 *
 * 1. a body that is not JSON is refused (415), when the row takes a body;
 * 2. the path, against the schemas of its pathParameter()s (400 naming `path.<name>`);
 * 3. the row's `authorize` (a customer's own resources only; a session started from this site: 403);
 * 4. the headers declared with headerParameter(), when sent (400 naming `header.<name>`);
 * 5. the query, against the row's `query` (400 naming `query.<name>`), unless the request is for
 *    the row's HTML page (`pageWhen`), whose query is the page's own;
 * 6. the body, against the row's schema or the caller's role's (400 naming `body.<name>`);
 *
 * then the handler, handed what was validated (NFC-normalized, integers read) typed by its row
 * (or reading it with queryOf and bodyOf). A row without a handler, or a handler without a
 * row, fails at start-up.
 */

/**
 * An operation's handler: it answers, or (a page it does not have) passes on to the 404. Its JSON
 * answer is typed `Answer`: the bodies of its row's jsonResponse()s (`res.json` of another shape
 * does not compile).
 */
export type OperationHandler<Answer = unknown> = (
  req: Request,
  res: Response<Answer>,
  next: NextFunction,
) => void | Promise<void>;

/** The names of a path template's parameters: `/lots/{lotId}/spots/{spotId}` has "lotId" | "spotId". */
type PathNames<Path> = Path extends `${string}{${infer Name}}${infer Rest}` ? Name | PathNames<Rest> : never;

/** The body a row's checks let through: its schema's, or any of its roles'. */
type BodyOf<Body> = Body extends { readonly schema: infer S extends TSchema }
  ? Static<S> | (Body extends { readonly byRole: infer R } ? StaticOfEach<R> : never)
  : undefined;

type StaticOfEach<R> = { [K in keyof R]: R[K] extends TSchema ? Static<R[K]> : never }[keyof R];

/** What the checks in front of a row's handler let through, typed by the row. */
export interface InputOf<Row extends Operation> {
  readonly path: { readonly [Name in PathNames<Row["path"]>]: string };
  readonly query: Row["query"] extends TSchema ? Static<Row["query"]> : undefined;
  readonly body: BodyOf<Row["body"]>;
}

/** The handlers of a table of operations: one per row, by its operationId, its answer and input typed by the row. */
export type HandlersOf<Rows extends readonly Operation[]> = {
  readonly [Row in Rows[number] as Row["operationId"]]: (
    ...args: [...Parameters<OperationHandler<AnswerOf<Row>>>, input: InputOf<Row>]
  ) => void | Promise<void>;
};

/** The handler of one row of a table, by its operationId. */
export type HandlerOf<
  Rows extends readonly Operation[],
  Id extends Rows[number]["operationId"],
> = HandlersOf<Rows>[Id];

export interface OperationRoutesOptions {
  /** The caller's role, which picks the row's body schema when the roles' bodies differ (`byRole`). */
  readonly roleOf?: (req: Request) => string | undefined;
  /** The work gate of an `expensive` operation (platform/http/work-gate.ts), put after its checks. */
  readonly gate?: (operation: Operation) => RequestHandler;
  /** What every handler of the table is wrapped in (a mapping of its side's errors, a check of the caller). */
  readonly around?: (handler: OperationHandler) => OperationHandler;
}

/** What the checks in front of a handler let through, and the schemas they held it to. */
interface Validated {
  readonly path: Readonly<Record<string, string>>;
  readonly query?: { readonly schema: TSchema; readonly value: unknown };
  readonly body?: { readonly schema: TSchema; readonly value: unknown };
}

const validatedInputs = new WeakMap<Request, Validated>();

/** One middleware serving each row of `operations` with its handler, behind the checks the row generates. */
export function operationRouter<const Rows extends readonly Operation[]>(
  operations: Rows,
  handlers: NoInfer<HandlersOf<Rows>>,
  options: OperationRoutesOptions = {},
): RequestHandler {
  type Served = (...args: [...Parameters<OperationHandler>, input: unknown]) => void | Promise<void>;
  const byId = handlers as unknown as Readonly<Record<string, Served | undefined>>;
  const ids = new Set<string>(operations.map((operation) => operation.operationId));
  const strays = Object.keys(byId).filter((id) => !ids.has(id));
  if (strays.length) throw new Error(`Handlers without an operation: ${strays.join(", ")}.`);
  return routeTable(
    operations.map((operation) => {
      const handler = byId[operation.operationId];
      if (!handler) throw new Error(`The operation ${operation.operationId} has no handler.`);
      const served: OperationHandler = (req, res, next) => {
        const { path, query, body } = validated(req);
        return handler(req, res, next, { path, query: query?.value, body: body?.value });
      };
      return {
        method: operation.method,
        path: expressPath(operation.path),
        handlers: [
          ...(operation.vary ? [varies(operation.vary)] : []),
          ...(operation.body ? [requireJsonBody] : []),
          requestValidator(operation, options),
          ...(operation.expensive && options.gate ? [gated(operation, options.gate(operation))] : []),
          options.around ? options.around(served) : served,
        ],
      };
    }),
  );
}

/** The gate in front of an expensive operation's handler, for the requests it says are expensive. */
function gated(operation: Operation, gate: RequestHandler): RequestHandler {
  const { expensive } = operation;
  if (expensive === true || expensive === undefined) return gate;
  return (req, res, next) => (expensive(req) ? gate(req, res, next) : next());
}

const varies =
  (headers: readonly string[]): RequestHandler =>
  (_req, res, next) => {
    for (const name of headers) res.vary(name);
    next();
  };

/** The schemas a request of this operation is validated with, built once per operation. */
interface RequestSchemas {
  readonly path?: TSchema;
  readonly headers: readonly { readonly name: string; readonly schema: TSchema }[];
  readonly query?: TSchema;
  readonly body?: NonNullable<Operation["body"]>;
}

function requestSchemas(operation: Operation): RequestSchemas {
  const declared = (where: string) =>
    (operation.parameters ?? []).flatMap((parameter) => {
      const schema = parameterSchema(parameter);
      return parameter.in === where && schema ? [{ name: String(parameter.name), schema }] : [];
    });
  const path = declared("path");
  return {
    ...(path.length
      ? {
          path: Type.Object(Object.fromEntries(path.map(({ name, schema }) => [name, schema])), {
            additionalProperties: false,
          }),
        }
      : {}),
    headers: declared("header").map(({ name, schema }) => ({
      name,
      schema: Type.Object({ [name]: schema }),
    })),
    ...(operation.query ? { query: operation.query } : {}),
    ...(operation.body ? { body: operation.body } : {}),
  };
}

/** The body schema for this caller: its role's when the roles' bodies differ, else the row's. */
function bodySchema(body: NonNullable<Operation["body"]>, req: Request, options: OperationRoutesOptions) {
  const byRole = body.byRole as Readonly<Record<string, TSchema>> | undefined;
  const role = byRole ? options.roleOf?.(req) : undefined;
  return (role !== undefined ? byRole?.[role] : undefined) ?? body.schema;
}

/** The checks of one operation's requests (steps 2 to 6 above), answered as 400 `validation` or 403. */
function requestValidator(operation: Operation, options: OperationRoutesOptions): RequestHandler {
  const schemas = requestSchemas(operation);
  return (req, _res, next) => {
    const path = schemas.path
      ? (validInput(schemas.path, { ...req.params }, "path") as Record<string, string>)
      : {};
    operation.authorize?.(req, path);
    for (const { name, schema } of schemas.headers) {
      const value = req.get(name);
      if (value !== undefined) validInput(schema, { [name]: value }, "header");
    }
    const query =
      schemas.query && !operation.pageWhen?.(req)
        ? { schema: schemas.query, value: validInput(schemas.query, { ...req.query }, "query") }
        : undefined;
    let body: Validated["body"];
    if (schemas.body) {
      const schema = bodySchema(schemas.body, req, options);
      // A body the row does not require may be left out: then it is the empty object.
      const sent = schemas.body.required ? req.body : (req.body ?? {});
      body = { schema, value: validInput(schema, sent, "body") };
    }
    validatedInputs.set(req, { path, ...(query ? { query } : {}), ...(body ? { body } : {}) });
    next();
  };
}

/** Compiles now every schema the routes of these operations validate requests with. */
export function precompileRequests(operations: readonly Operation[]): void {
  for (const operation of operations) {
    const { path, headers, query, body } = requestSchemas(operation);
    precompileInputs(
      ...(path ? [path] : []),
      ...headers.map(({ schema }) => schema),
      ...(query ? [query] : []),
      ...(body ? [body.schema, ...Object.values(body.byRole ?? {})] : []),
    );
  }
}

function validated(req: Request): Validated {
  const input = validatedInputs.get(req);
  if (!input) throw new Error(`${req.method} ${req.path} was not validated by its operation's route.`);
  return input;
}

/** The request's query, as validated against `schema`, which must be its operation's. */
export function queryOf<S extends TSchema>(req: Request, schema: S): Static<S> {
  const query = validated(req).query;
  if (query?.schema !== schema) throw new Error(`${req.path}: the query was not validated with this schema.`);
  return query.value as Static<S>;
}

/** The request's body, as validated against one of `schemas` (the roles' when they differ). */
export function bodyOf<S extends readonly TSchema[]>(req: Request, ...schemas: S): Static<S[number]> {
  const body = validated(req).body;
  if (!body || !schemas.includes(body.schema))
    throw new Error(`${req.path}: the body was not validated with these schemas.`);
  return body.value as Static<S[number]>;
}
