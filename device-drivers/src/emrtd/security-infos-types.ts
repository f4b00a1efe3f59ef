/**
 * SecurityInfo records of EF.CardAccess and DG14 (ICAO 9303-11 §9.2), as parsed by lds/security-infos.ts and
 * consumed by the access-control and verification layers. OIDs are dotted strings.
 */
export interface PaceInfo {
  kind: 'pace';
  /** e.g. 0.4.0.127.0.7.2.2.4.2.2 = id-PACE-ECDH-GM-AES-CBC-CMAC-128 */
  protocol: string;
  version: number;
  /** Standardized domain parameter id (12 = NIST P-256, 13 = brainpoolP256r1, ...), when given. */
  parameterId: number | undefined;
}

export interface PaceDomainParameterInfo {
  kind: 'pace-domain-parameters';
  protocol: string;
  /** AlgorithmIdentifier DER of explicit domain parameters. */
  domainParameter: Uint8Array;
  parameterId: number | undefined;
}

export interface ChipAuthenticationInfo {
  kind: 'chip-authentication';
  /** e.g. 0.4.0.127.0.7.2.2.3.2.2 = id-CA-ECDH-AES-CBC-CMAC-128 */
  protocol: string;
  version: number;
  keyId: number | undefined;
}

export interface ChipAuthenticationPublicKeyInfo {
  kind: 'chip-authentication-public-key';
  /** e.g. 0.4.0.127.0.7.2.2.1.2 = id-PK-ECDH */
  protocol: string;
  /** SubjectPublicKeyInfo DER. */
  subjectPublicKeyInfo: Uint8Array;
  keyId: number | undefined;
}

export interface TerminalAuthenticationInfo {
  kind: 'terminal-authentication';
  protocol: string;
  version: number;
}

export interface ActiveAuthenticationInfo {
  kind: 'active-authentication';
  protocol: string;
  version: number;
  /** Signature algorithm OID for ECDSA AA, e.g. 0.4.0.127.0.7.1.1.4.1.3 = ecdsa-plain-SHA256. */
  signatureAlgorithm: string;
}

export interface UnknownSecurityInfo {
  kind: 'unknown';
  protocol: string;
  /** DER of the whole SecurityInfo SEQUENCE, kept for verification and future use. */
  raw: Uint8Array;
}

export type SecurityInfo =
  | PaceInfo
  | PaceDomainParameterInfo
  | ChipAuthenticationInfo
  | ChipAuthenticationPublicKeyInfo
  | TerminalAuthenticationInfo
  | ActiveAuthenticationInfo
  | UnknownSecurityInfo;
