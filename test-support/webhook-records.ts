import { existsSync, readFileSync } from "node:fs";

/** One message the receiver got (test-support/webhook-receiver.ts). */
export interface Received {
  readonly endpoint: string;
  readonly webhookId: string;
  readonly signatures: number;
  /** Per secret the receiver was given, whether it verified the message. */
  readonly verified: boolean[];
  readonly status: number;
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
  readonly receivedAt: number;
}

/** What the receiver recorded, in the order it got it (optionally one endpoint's). */
export function receivedIn(file: string, endpoint?: string): Received[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Received];
      } catch {
        return []; // a line cut by a kill
      }
    })
    .filter((r) => endpoint === undefined || r.endpoint === endpoint);
}

/** Tells the receiver an endpoint's secrets and behaviour. */
export async function controlReceiver(
  url: string,
  endpoint: string,
  behaviour: { secrets: string[]; statuses?: number[]; delayMs?: number },
): Promise<void> {
  const response = await fetch(`${url}/control/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(behaviour),
  });
  if (response.status !== 204) throw new Error(`receiver control answered ${response.status}`);
}
