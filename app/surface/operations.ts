import type { AccessRule } from "../../platform/auth/access.js";
import { expressPath, type Operation, type Side } from "../../platform/http/operation.js";
import { QUERY_OPERATIONS } from "../../read-api/operations.js";
import { WEBHOOK_OPERATIONS } from "../../read-api/webhooks/operations.js";
import { COMMAND_OPERATIONS } from "../../write-side/http/operations.js";
import { APP_OPERATIONS } from "./app-operations.js";

/**
 * Every operation the service serves, each defined once beside its routes: the command API
 * (write-side/http/operations.ts), the query API and the page (read-api/operations.ts), the
 * process's own routes (app-operations.ts). From this table come the access check (app/access.ts),
 * the 405 answers (with `Allow`) and OPTIONS of every documented path (app/http-app.ts) and the
 * OpenAPI document (document.ts); app/operations.e2e.test.ts fails when express serves a route
 * that has no row, or a row has no route.
 */
export const OPERATIONS: readonly Operation[] = [
  ...COMMAND_OPERATIONS,
  ...QUERY_OPERATIONS,
  ...WEBHOOK_OPERATIONS,
  ...APP_OPERATIONS,
];

/** The methods each documented path answers in a process that serves these sides. */
export function methodsByPath(sides: ReadonlySet<Side>): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  for (const operation of OPERATIONS) {
    if (!sides.has(operation.side)) continue;
    paths.set(operation.path, [...(paths.get(operation.path) ?? []), operation.method.toUpperCase()]);
  }
  return paths;
}

/** The access rules of the operations: each one's conditional rules first, then its own. */
export const operationAccessRules = (operations: readonly Operation[]): AccessRule[] =>
  operations.flatMap((operation) => {
    const method = operation.method.toUpperCase() as AccessRule["method"];
    const path = expressPath(operation.path);
    return [
      ...(operation.allowWhen ?? []).map(({ when, allow }) => ({ method, path, allow, when })),
      { method, path, allow: operation.allow },
    ];
  });
