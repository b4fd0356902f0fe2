import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import {
  type LotBooksProgress,
  type LotBooksResult,
  upgradeLotBooks,
} from "../write-side/lot-books-upgrade.js";
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
 * Once recorded done, a start pays one document read for each.
 */

/** What closing the lots' books needs: the bound. */
export interface LotBooksContext {
  /** LOT_PERIOD_EVENTS. */
  readonly bound: number;
}

export interface Upgraded {
  readonly payments: UpgradeResult;
  /** Undefined where this process takes no commands (only a writer of the lots closes their books). */
  readonly books?: LotBooksResult;
}

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

/** The lots' books upgrade's options (it closes with the command handler's close, LotStateSource). */
function booksOptionsOf(
  eventStore: EventStore,
  logger: Logger,
  books: LotBooksContext,
  onProgress?: (progress: LotBooksProgress) => void,
) {
  return {
    eventStore,
    bound: books.bound,
    now: () => new Date(),
    logger,
    ...(onProgress ? { onProgress } : {}),
  };
}

/**
 * On start: the payments a lot's stream still holds carried onto their own streams, once. A role
 * that runs the processors but takes no commands (ROLE=projector) upgrades too before they start:
 * the payments process manager must find an old payment on its own stream. Two processes starting
 * together both run it: each payment is carried once (the stream's expected revision). Then, in a
 * process that takes commands (`books`), every lot over the bound has its books closed, once.
 */
export async function upgradeOnStart(
  eventStore: EventStore,
  documents: DocumentStore,
  logger: Logger,
  books?: LotBooksContext,
): Promise<Upgraded> {
  await dropRetiredCollections(documents, logger);
  const payments = await upgradePayments(documents, optionsOf(eventStore, logger));
  if (!books) return { payments };
  return { payments, books: await upgradeLotBooks(documents, booksOptionsOf(eventStore, logger, books)) };
}

/**
 * Issue 68: collections of lot state no version reads any more, dropped by name (they held personal
 * values too: a customer's erasure no longer rewrites them). The lot snapshots and the archive of
 * ended reservations (a lot's state is its period's opening and events), and every generation of
 * the read side's copy of the lots' facts (`lot_facts_g{n}`: the views load lots through the write
 * side's loader, read-api/views/lots-at.ts).
 */
export const RETIRED_COLLECTIONS = ["lot_snapshots", "lot_snapshot_parts", "ended_reservations"] as const;
const RETIRED_GENERATIONS = /^lot_facts_g[0-9]+$/;

export async function dropRetiredCollections(documents: DocumentStore, logger: Logger): Promise<void> {
  const present = await documents.listCollections();
  for (const name of present) {
    if (!(RETIRED_COLLECTIONS as readonly string[]).includes(name) && !RETIRED_GENERATIONS.test(name))
      continue;
    await documents.dropCollection(name);
    logger.info({ collection: name }, "upgrade: a retired collection of lot state dropped");
  }
}

/**
 * `replay upgrade`: the same carry-over whatever the record says (idempotent: what is carried over
 * already is skipped), its progress on the terminal, then the record that it is done; then the
 * lots' books closed where over the bound, and its record.
 */
export async function upgradeNow(
  eventStore: EventStore,
  documents: DocumentStore,
  logger: Logger,
  onProgress: (progress: UpgradeProgress) => void,
  books: LotBooksContext & { readonly onProgress: (progress: LotBooksProgress) => void },
): Promise<Required<Upgraded>> {
  await dropRetiredCollections(documents, logger);
  const options = optionsOf(eventStore, logger, onProgress);
  const payments = await carryPaymentsOver(options);
  // Recorded done: a later start reads this and nothing else.
  await markPaymentsUpgraded(documents, payments, options.now());
  const booksOptions = booksOptionsOf(eventStore, logger, books, books.onProgress);
  return { payments, books: await upgradeLotBooks(documents, booksOptions, true) };
}
