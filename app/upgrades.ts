import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import {
  carryPaymentsOver,
  markPaymentsUpgraded,
  type UpgradeProgress,
  type UpgradeResult,
  upgradePayments,
} from "../write-side/payment/payment-upgrade.js";

/**
 * Issue 48, item 5: the upgrades of data written by an older version, run on start before the
 * service answers a command (and before its processors act), and by `npm run replay -- upgrade`.
 * Once recorded done, a start pays one document read for them.
 */

const optionsOf = (
  eventStore: EventStore,
  logger: Logger,
  onProgress?: (progress: UpgradeProgress) => void,
) => ({
  eventStore,
  now: () => new Date(),
  logger,
  ...(onProgress ? { onProgress } : {}),
});

/**
 * On start: the payments a lot's stream still holds carried onto their own streams, once. A role
 * that runs the processors but takes no commands (ROLE=projector) upgrades too before they start:
 * the payments process manager must find an old payment on its own stream. Two processes starting
 * together both run it: each payment is carried once (the stream's expected revision).
 */
export async function upgradeOnStart(
  eventStore: EventStore,
  documents: DocumentStore,
  logger: Logger,
): Promise<UpgradeResult> {
  return upgradePayments(documents, optionsOf(eventStore, logger));
}

/**
 * `replay upgrade`: the same carry-over whatever the record says (idempotent: what is carried over
 * already is skipped), its progress on the terminal, then the record that it is done.
 */
export async function upgradeNow(
  eventStore: EventStore,
  documents: DocumentStore,
  logger: Logger,
  onProgress: (progress: UpgradeProgress) => void,
): Promise<UpgradeResult> {
  const options = optionsOf(eventStore, logger, onProgress);
  const result = await carryPaymentsOver(options);
  // Recorded done: a later start reads this and nothing else.
  await markPaymentsUpgraded(documents, result, options.now());
  return result;
}
