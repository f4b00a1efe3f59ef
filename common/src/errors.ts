/**
 * Typed errors with stable codes. Codes are part of the public contract (CLI exit messages, API error bodies,
 * transaction records): never rename one, only add.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'The configuration file or environment has a value that fails validation.',
  CONFIG_FILE_UNREADABLE: 'The configuration file named could not be read or is not JSON.',
  USAGE: 'A command was called with missing or invalid arguments.',
  PCSC_UNAVAILABLE: 'The PC/SC service (pcscd) is not running or not reachable.',
  PCSC_NO_READER: 'No card reader matches the request.',
  CARD_READER_REFUSED: 'With real devices, a card reader whose name marks it as virtual or emulated (vsmartcard "Virtual PCD", jCardSim, ...) was refused, or devices.cardReader names one: only the physical reader is used.',
  PCSC_TIMEOUT: 'A card reader or card did not appear in time.',
  PCSCD_START_FAILED: 'pcscd could not be started.',
  CARD_REMOVED: 'The card was removed during the operation.',
  CARD_TRANSMIT_FAILED: 'An APDU could not be exchanged with the card.',
  CARD_MALFORMED_RESPONSE: 'The card answered with bytes that do not form a valid response APDU.',
  APDU_MALFORMED: 'Bytes given as a command APDU do not form one (Lc/Le inconsistent, truncated).',
  VPCD_CONNECT_FAILED: 'The virtual card could not connect to vsmartcard-vpcd.',
  CARD_STATUS_ERROR: 'The card answered a command with an unexpected status word (the message names it).',
  CARD_ACCESS_DENIED: 'The card rejected the access key: wrong CAN, MRZ data or QR data ("access key rejected").',
  CARD_SM_FAILED: 'Secure messaging failed: a response MAC did not verify or protected data was malformed.',
  CARD_UNSUPPORTED: 'The card is not an eMRTD, or offers no access protocol and cipher we support.',
  TLV_MALFORMED: 'Bytes that should be BER-TLV are truncated, oversized or otherwise malformed.',
  LDS_MALFORMED: 'A card file (EF.COM, DG1, DG2, DG13, ...) does not have the structure its standard defines.',
  TRUST_FILE_INVALID: 'A file offered to the trust store holds no certificate or CRL, or a certificate that is not a CA certificate.',
  TRUST_SOURCE_UNTRUSTED: 'A CSCA master list was refused: its CMS signature fails, its signer certificate is not valid, or it does not chain to a trusted or pinned CSCA.',
  IMAGE_DECODE_FAILED: 'An image (JPEG, JPEG 2000, PNG or another format) could not be decoded, or its pixels do not match its stated size.',
  QR_NOT_FOUND: 'No readable QR code was found in the image or frame (none there, or too damaged to decode).',
  QR_DECODE_FAILED: 'A QR decoder could not be loaded or failed while decoding (not "no code found").',
  QR_FORMAT_INVALID: 'QR text claims a known format (CCCD QR) but fails its validation (fields, dates, ID structure).',
  QR_IMAGE_UNREADABLE: 'An image file given for QR decoding could not be read or is not an image.',
  QR_SCANNER_NOT_FOUND: 'The QR scanner device could not be opened (missing, unplugged, no permission).',
  QR_SCANNER_DISCONNECTED: 'The QR scanner went away while in use (unplugged, port closed).',
  QR_SCAN_MALFORMED: 'A QR scanner sent data that is not a well-formed code (bad report, invalid UTF-8, overlong, unmapped key).',
  QR_SCAN_INCOMPLETE: 'A QR scanner sent part of a code without its end; the partial code was discarded.',
  CAMERA_START_FAILED: 'The camera could not be started: device or image source missing, unreadable or empty.',
  CAMERA_FRAME_INVALID: 'A camera frame could not be decoded or has an unsupported size or channel count.',
  FACE_MODEL_MISSING: 'A face model file named by the model manifest does not exist or cannot be read.',
  FACE_MODEL_TAMPERED: 'A face model file does not have the SHA-256 its manifest records (altered or swapped without updating the manifest).',
  FACE_MODEL_INVALID: 'The face model manifest is malformed, or a model does not have the inputs/outputs the manifest declares.',
  FACE_IMAGE_UNREADABLE: 'A face image (chip photo or camera frame) could not be read or decoded.',
  FACE_NOT_FOUND: 'No usable face was found in the reference (chip) photo, so no match can be made.',
  STORE_OPEN_FAILED: 'The transaction store database could not be opened (missing directory, not a database, locked).',
  STORE_DISK_FULL: 'The transaction store could not write: the disk (or the database size limit) is full. Nothing was recorded.',
  STORE_READ_ONLY: 'The transaction store database is read-only (file permissions, read-only mount or opened read-only). Nothing was recorded.',
  STORE_CORRUPT: 'The transaction store database file is damaged (SQLite reported corruption).',
  STORE_BUSY: 'The transaction store database stayed locked by another process longer than the busy timeout.',
  STORE_MIGRATION_FAILED: 'A schema migration of the transaction store failed, or the database is newer than this software.',
  STORE_KEY_UNAVAILABLE: 'A store key (data-key wrapping key or audit signing key) is missing, unreadable, malformed or readable by group/other.',
  STORE_DECRYPT_FAILED: 'An encrypted store field did not decrypt (wrong or missing data key, or the ciphertext was altered).',
  STORE_FIELD_REJECTED: 'A value offered to the store is not allowed there: an image or binary blob, or personal data outside the encrypted fields.',
  STORE_NOT_FOUND: 'The transaction or outbox delivery named does not exist, or is not in a state that allows the operation.',
  STORE_AUDIT_BROKEN: 'The audit log hash chain or its signed checkpoints do not verify: a row was edited, deleted or the log truncated.',
  API_UNAUTHORIZED: 'A local API request lacked the per-boot token or carried a wrong one.',
  API_FORBIDDEN_HOST: 'A local API request named a Host other than the loopback address (DNS rebinding guard).',
  API_BAD_REQUEST: 'A local API request body failed validation (e.g. a CAN that is not exactly 6 digits).',
  API_BUSY: 'A local API request was refused because the same operation is still running (e.g. a card read).',
  API_NOT_FOUND: 'A local API request named something this visit does not hold (e.g. a transaction not recorded in it).',
  SUBMISSION_NO_APPLICANT: 'A dossier was submitted without an accepted identity check in this visit (none yet, the card was taken out, the visit ended, or its dossier was already submitted).',
  TRUST_TEST_ANCHOR: 'The trust store holds a CSCA of the test PKI (by fingerprint, or marked TEST): refused in real mode, and by the CLIs without --allow-test-pki.',
  TRUST_STORE_MISSING: 'No CSCA to verify cards against: real devices need one in trust.folder; simulated devices in trust.folder or devices.simTrustFolder (written by `kiosk-sim setup`).',
  SHELL_BROWSER_NOT_FOUND: 'The kiosk browser executable was not found.',
  SHELL_BROWSER_FAILED: 'The kiosk browser could not be started or exited with an error.',
  DISPLAY_UNAVAILABLE: 'No X display is available for a window.',
  ESCPOS_MALFORMED: 'Bytes sent to the (simulated) receipt printer are not well-formed ESC/POS: a command is truncated or the page too long.',
  PRINTER_NOT_READY: 'The receipt printer is offline, in error or still blocked by an earlier job, and takes no job now.',
  PRINTER_OFFLINE: 'The receipt printer device is missing (unplugged, wrong path) or stopped answering.',
  PRINTER_PAPER_OUT: 'The receipt printer is out of paper.',
  PRINTER_PERMISSION_DENIED: 'The kiosk user may not write to the receipt printer device (udev rule or group missing).',
  PRINTER_WRITE_FAILED: 'Writing the job to the receipt printer device failed.',
  SYNC_TLS_FILE_UNREADABLE: 'A sync mTLS file (client certificate, key or upstream CA) could not be read or holds no usable PEM (the message names the path).',
  SYNC_CERT_EXPIRED: "The sync agent's client certificate has expired (details: notAfter); install a new one.",
  SYNC_CERT_NOT_YET_VALID: "The sync agent's client certificate is not valid yet (details: notBefore); check the certificate or the clock.",
  SYNC_CERT_KEY_MISMATCH: "The sync agent's client key does not belong to its client certificate.",
  SYNC_UPSTREAM_UNTRUSTED: 'The upstream server certificate does not chain to the pinned upstream CA (sync.upstreamCa).',
  SYNC_UPSTREAM_WRONG_HOST: 'The upstream server certificate is valid but not for the host name or address connected to.',
  SYNC_UPSTREAM_CERT_EXPIRED: 'The upstream server certificate has expired or is not valid yet.',
  SYNC_CLIENT_CERT_REJECTED: "The upstream server refused the device's client certificate (details.alert: bad certificate, unknown CA, revoked, expired, required).",
  SYNC_TLS_PROTOCOL: 'No common TLS version or cipher with the upstream server: it offers less than TLS 1.2.',
  SYNC_AGENT_ENDPOINT: "The sync agent's local endpoint could not start: it binds loopback (127.0.0.1, ::1) only, or the port (sync.agent.port) is taken.",
  SYNC_ONCE_INCOMPLETE: '`kiosk-sync run --once` ended with deliveries still pending (a stopped upstream, or retries due later than --max-wait); the summary names them.',
  SYNC_TLS_FAILED: 'A TLS connection to an upstream server failed for another reason (details.openssl names it).',
  SYNC_LOOKUP_TIMEOUT: 'The live BHYT card lookup got no complete answer within sync.upstreams.bhyt-check.timeoutMs.',
  SYNC_LOOKUP_UNREACHABLE: 'The live BHYT card lookup could not reach the gateway (connection refused or reset, DNS, network down).',
  SYNC_LOOKUP_REFUSED: 'The BHYT gateway refused the lookup: an HTTP error status (details.status) or our TLS credentials (details.tls).',
  SYNC_LOOKUP_MALFORMED: 'The BHYT gateway answered, but not per the bhyt-check contract (details.pointer names what broke).',
  SYNC_RECONCILE_FAILED: "An upstream's check of the deliveries it holds failed (no answer, an error status, or an answer that is not a list of the keys asked about); nothing was requeued.",
  FAULT_PROXY_INVALID: 'The fault-injecting test proxy was given a bad address, an unknown toxic type or attribute, a value out of range, or a toxic name that is taken or unknown.',
  CONTRACT_INVALID: 'An upstream contract file (sync-agent/contracts/*.openapi.yaml) is missing, not YAML, or not a valid OpenAPI 3.1 document.',
  CONTRACT_VIOLATION: 'A request, answer or outbox payload does not match its upstream contract (details name the contract, the JSON pointer and the rule).',
  PKCS11_MODULE_UNAVAILABLE: 'The PKCS#11 module (shared library) cannot be loaded or initialised, or the configured token is not present.',
  PKCS11_PIN_UNAVAILABLE: 'The PKCS#11 user PIN is missing, unreadable, or in a file group/other may access.',
  PKCS11_LOGIN_FAILED: 'The PKCS#11 token refused the user PIN (wrong PIN, or the PIN is locked).',
  PKCS11_KEY_NOT_FOUND: 'No key with the expected label and type is on the PKCS#11 token.',
  PKCS11_OPERATION_FAILED: 'The PKCS#11 token failed a key generation, signature, encryption or decryption (details name the function and CKR code).',
  PROVISION_TOKEN_INVALID: 'An EST enrollment carried no one-time token, or one the development CA never issued (a typo, or a token from another CA).',
  PROVISION_TOKEN_EXPIRED: 'The one-time enrollment token has expired (details: expiresAt); ask for a new one with `kiosk-provision ca token`.',
  PROVISION_TOKEN_USED: 'The one-time enrollment token was already used to enroll a device; ask for a new one.',
  PROVISION_CSR_MALFORMED: 'An EST request body is not a base64 PKCS#10 certificate request (not base64, truncated, or not a CSR).',
  PROVISION_CSR_SIGNATURE: "The certificate request's signature does not verify with the public key it carries.",
  PROVISION_CSR_WEAK_KEY: 'The certificate request carries a key the CA policy refuses (only ECDSA P-256 is issued).',
  PROVISION_CERT_UNKNOWN: 'A re-enrollment came without a client certificate, or with one this CA did not issue or that is no longer valid.',
  PROVISION_CERT_REVOKED: 'A re-enrollment came with a client certificate the CA has revoked; the device must enroll again with a new token.',
  PROVISION_CA_PIN_MISMATCH: "The EST server's CA certificate does not have the SHA-256 fingerprint the technician was given (a wrong server, or an interception).",
  PROVISION_CA_STATE_INVALID: 'The development CA folder is unreadable or inconsistent (missing key or certificate, unknown serial number).',
  PROVISION_EST_FAILED: 'An EST request failed for another reason: the server is unreachable, or answered with an unexpected status or body (the message names it).',
  PROVISION_CA_LISTEN_FAILED: 'The development CA could not listen on the host and port asked (the port is taken, or the address is not this machine\'s).',
  PROVISION_NOT_ENROLLED: 'The device has not completed `kiosk-provision init` (no init state or certificate): renew and status need an enrolled device.',
  PROVISION_UPSTREAM_CA_MISSING: 'Enrollment needs the upstream servers\' CA (sync.upstreamCa): give it with --upstream-ca FILE, or install the file first.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface KioskErrorOptions {
  cause?: unknown;
  /** Machine-readable context. Never put personal data here: it is logged and may be sent upstream. */
  details?: Record<string, unknown>;
}

export class KioskError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KioskErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KioskError';
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isKioskError(err: unknown, code?: ErrorCode): err is KioskError {
  return err instanceof KioskError && (code === undefined || err.code === code);
}
