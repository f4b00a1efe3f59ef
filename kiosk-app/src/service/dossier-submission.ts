import { KioskError, type Logger } from '@kiosk/common';
import type { DeliveryState } from '@kiosk/store';
import type { DeliveriesResponse, DossierSubmitted } from '../shared/dossier-api.js';
import { CITY_UPSTREAM, dossierPayload } from './outbox-payloads.js';
import type { TransactionRecorder, Visit } from './visit.js';

export interface DossierSubmissionOptions {
  visit: Visit;
  store: TransactionRecorder & { deliveriesOf(transactionId: string): DeliveryState[] };
  /** The one procedure offered until the catalogue exists (services.publicService.demoProcedureCode). */
  procedureCode: string;
  log: Logger;
}

/**
 * The public-service profile's dossier: the citizen the kiosk just accepted asks, by an explicit press, for the
 * demonstration procedure; a `public-service-submission` transaction with its city-tthc delivery is recorded, and
 * the receipt screen follows it until the city system's tracking code comes back.
 */
export class DossierSubmission {
  constructor(private readonly options: DossierSubmissionOptions) {}

  submit(): DossierSubmitted {
    const { visit, store, procedureCode, log } = this.options;
    const applicant = visit.takeApplicant();
    if (!applicant) throw new KioskError('SUBMISSION_NO_APPLICANT', 'no accepted identity check to submit a dossier for: insert the card again');
    const recorded = visit.record(store, (transactionId) => ({
      kind: 'public-service-submission',
      status: 'completed',
      verdict: { procedure: procedureCode, faceMatch: applicant.face },
      citizen: { idNumber: applicant.idNumber, fields: { fullName: applicant.fullName, dateOfBirth: applicant.dateOfBirth } },
      deliveries: [{ upstream: CITY_UPSTREAM, aggregate: visit.stream, payload: dossierPayload(transactionId, procedureCode, applicant) }],
    }));
    log.info({ procedure: procedureCode }, 'dossier recorded');
    return { transactionId: recorded.id };
  }

  /** Where a transaction of this visit stands upstream: upstream, state and receipt only. API_NOT_FOUND for any other id. */
  deliveries(transactionId: string): DeliveriesResponse {
    if (!this.options.visit.recorded(transactionId)) throw new KioskError('API_NOT_FOUND', 'no such transaction in this visit');
    return { deliveries: this.options.store.deliveriesOf(transactionId).map(({ upstream, state, receipt }) => ({ upstream, state, receipt })) };
  }
}
