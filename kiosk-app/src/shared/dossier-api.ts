/**
 * The dossier contract between the kiosk service and the renderer: POST /api/dossiers (the public-service profile's
 * one procedure, after an accepted identity check) and GET /api/transactions/:id/deliveries (where the transactions
 * recorded in this visit stand upstream). Types only: no personal data crosses it, the receipt is the upstream's
 * tracking code (mã hồ sơ).
 */

export const CITY_UPSTREAM = 'city-tthc';

export interface DossierSubmitted {
  transactionId: string;
}

export interface DeliveryView {
  upstream: string;
  /** `pending` includes queued while offline: a normal state, the sync agent delivers it when the network is back. */
  state: 'pending' | 'delivered' | 'dead-letter';
  /** The upstream's receipt once delivered: for the city system, the dossier's tracking code. */
  receipt: string | null;
}

export interface DeliveriesResponse {
  deliveries: DeliveryView[];
}
