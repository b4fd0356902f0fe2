import { expect } from "vitest";
import type { JsonResponse } from "./service.js";

/**
 * What a list answers a hostile `cursor`: never a 5xx; a 400 is a problem naming `query.cursor`;
 * otherwise, when `served` (a caller the list serves), a 200. `label` names the request in failures.
 */
export function expectCursorAnswer(
  answer: JsonResponse<{ errors?: { field: string }[] }>,
  label: string,
  served: boolean,
): void {
  expect(answer.status, `${label}: ${JSON.stringify(answer.body)}`).toBeLessThan(500);
  if (answer.status === 400) {
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(
      answer.body.errors?.map((e) => e.field),
      label,
    ).toContain("query.cursor");
  } else if (served) {
    expect(answer.status, label).toBe(200);
  }
}
