import { randomUUID } from 'node:crypto';
import type { Logger } from '@kiosk/common';
import type { NewTransaction, RecordedTransaction } from '@kiosk/store';
import type { KioskEvent } from './card-monitor.js';

/** The part of the transaction store that records. */
export interface TransactionRecorder {
  recordTransaction(input: NewTransaction): RecordedTransaction;
}

/** What a dossier needs of the citizen whose card (and face) the kiosk accepted; ISO birth date, as the contracts take it. */
export interface Applicant {
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  face: 'accepted' | 'not-performed';
}

export interface VisitOptions {
  cards: { on(event: 'event', listener: (event: KioskEvent) => void): unknown };
  log: Logger;
  /** Tells the sync agent new outbox rows are committed, so it flushes at once (its poll is the backstop). */
  notifySyncAgent?: () => Promise<void>;
}

/**
 * One citizen's visit, from a card's insertion to the next one or the screen's idle reset: the ordering stream its
 * deliveries share (random, never personal: the ID number travels inside the encrypted payloads only), the applicant
 * a dossier may be submitted for (in memory, gone with the card), and the transactions recorded in it (the only
 * ones whose deliveries the screen may ask about).
 */
export class Visit {
  #stream: string | undefined;
  #applicant: Applicant | undefined;
  readonly #recorded = new Set<string>();
  /** Counts card arrivals and removals, so a check that outlived its card does not admit its holder. */
  #cardMoves = 0;

  constructor(private readonly options: VisitOptions) {
    options.cards.on('event', (event) => {
      if (event.type === 'card-inserted' || event.type === 'card-removed') this.#cardMoves += 1;
      if (event.type === 'card-inserted') this.end();
      // The card's data leaves with the card; what was recorded can still be followed on the receipt screen.
      if (event.type === 'card-removed') this.#applicant = undefined;
    });
  }

  /** Nothing of the visit stays: a new card or the idle reset. */
  end(): void {
    this.#stream = undefined;
    this.#applicant = undefined;
    this.#recorded.clear();
  }

  /** The outbox aggregate of this visit: its deliveries reach each upstream in the order they were recorded. */
  get stream(): string {
    this.#stream ??= `visit-${randomUUID()}`;
    return this.#stream;
  }

  /** Taken when a check starts, given back to `admit`. */
  get cardTicket(): number {
    return this.#cardMoves;
  }

  /** The holder of an accepted check may submit, unless the card left (or another came) since the check began. */
  admit(applicant: Applicant, cardTicket: number): void {
    if (cardTicket === this.#cardMoves) this.#applicant = applicant;
  }

  /** The applicant, once: a dossier is submitted at most once per accepted check, and the data goes with it. */
  takeApplicant(): Applicant | undefined {
    const applicant = this.#applicant;
    this.#applicant = undefined;
    return applicant;
  }

  /**
   * Records a transaction under an id drawn here (its payloads name it), then notifies the sync agent: only after
   * the commit, without waiting for it, and a failed notification never fails the citizen's transaction.
   */
  record(recorder: TransactionRecorder, build: (transactionId: string) => NewTransaction): RecordedTransaction {
    const id = randomUUID();
    const input: NewTransaction = { ...build(id), id };
    const recorded = recorder.recordTransaction(input);
    this.#recorded.add(recorded.id);
    const { notifySyncAgent, log } = this.options;
    if (notifySyncAgent && input.deliveries.length > 0) {
      // A microtask later, so a notifier that throws at once is caught like one that rejects.
      Promise.resolve()
        .then(notifySyncAgent)
        .catch((err: unknown) => log.warn({ err }, 'the sync agent was not notified: its poll will deliver'));
    }
    return recorded;
  }

  /** Whether a transaction was recorded in this visit: the screen may follow only those. */
  recorded(transactionId: string): boolean {
    return this.#recorded.has(transactionId);
  }
}
