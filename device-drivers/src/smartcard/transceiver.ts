/** The lowest layer of the card stack: raw APDU bytes in, raw response bytes (data + SW) out. */
export interface ApduTransceiver {
  /** Sends one command APDU and resolves with the response APDU bytes (data followed by SW1 SW2). */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Ends the session with the card. Idempotent. */
  close(): Promise<void>;
}
