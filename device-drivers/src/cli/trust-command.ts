import { readFile } from 'node:fs/promises';
import { KioskError, loadConfig, parseCliArgs } from '@kiosk/common';
import { assertNoTestAnchors } from '../verify/test-anchors.js';
import { addToTrustFolder, importLdifFile, importMasterListFile, listTrustFolder, parseCertificate, readTrustObjects, TrustStore, type TrustEntry } from '../verify/trust-store.js';

export const TRUST_HELP = `  kiosk-card trust list [--trust PATH] [--json]
  kiosk-card trust add FILE [--trust PATH] [--json] [--allow-test-pki]
  kiosk-card trust import-masterlist FILE.ml [--trust PATH] [--json]
  kiosk-card trust import-ldif FILE.ldif [--trust PATH] [--json]
      manage the trust-store folder (default: the configuration's trust.folder): list its CSCAs and CRLs; add
      CSCA certificates and CRLs from a PEM or DER file; import an ICAO CSCA master list, refused unless its CMS
      signature verifies and its signer chains to a CSCA already trusted or pinned (trust.pins); import an ICAO PKD
      LDIF (CA certificates, CRLs, master lists). A CSCA of the test PKI (by fingerprint, or marked TEST) is
      refused (TRUST_TEST_ANCHOR) unless --allow-test-pki is given; real devices refuse it in any case.
      Errors: TRUST_FILE_INVALID, TRUST_SOURCE_UNTRUSTED, TRUST_TEST_ANCHOR, LDS_MALFORMED.`;

const day = (d: Date | undefined): string => (d ? d.toISOString().slice(0, 10) : '-');

function print(entries: TrustEntry[], json: boolean, verb: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(entries.map((e) => ({ ...e, until: e.until?.toISOString() ?? null })), null, 2)}\n`);
    return;
  }
  for (const e of entries) process.stdout.write(`${e.kind.padEnd(5)} ${e.fingerprint.slice(0, 16)}…  ${(e.country ?? '--').padEnd(2)}  until ${day(e.until)}  ${e.name}\n`);
  process.stdout.write(`${verb} ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
}

async function fileBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** A test-PKI CSCA goes into a trust folder only when the operator says so. */
function refuseTestAnchors(bytes: Uint8Array, file: string): void {
  const offered = new TrustStore();
  for (const object of readTrustObjects(bytes)) {
    if (object.kind !== 'certificate') continue;
    // A non-CA certificate is refused by addToTrustFolder with its own error (TRUST_FILE_INVALID).
    const certificate = parseCertificate(object.der);
    if (certificate.isCa || certificate.keyUsage?.keyCertSign) offered.addCsca(object.der);
  }
  assertNoTestAnchors(offered, file, 'Pass --allow-test-pki to add it anyway (tests and demos only; real devices refuse it).');
}

export async function trustCommand(args: string[], help: string): Promise<number> {
  const { values, positionals } = parseCliArgs({ args, options: { trust: { type: 'string' }, json: { type: 'boolean' }, 'allow-test-pki': { type: 'boolean' } }, allowPositionals: true, strict: true }, help);
  const [action, file, ...extra] = positionals;
  const config = loadConfig();
  const folder = values.trust ?? config.trust.folder;
  const json = values.json === true;
  const needsFile = (): string => {
    if (file === undefined || extra.length > 0) throw new KioskError('USAGE', `trust ${action} takes one FILE\n\n${help}`);
    return file;
  };
  switch (action) {
    case 'list':
      if (file !== undefined) throw new KioskError('USAGE', `trust list takes no FILE\n\n${help}`);
      print(await listTrustFolder(folder), json, `${folder}:`);
      return 0;
    case 'add': {
      const bytes = await fileBytes(needsFile());
      if (values['allow-test-pki'] !== true) refuseTestAnchors(bytes, file ?? '');
      print(await addToTrustFolder(folder, bytes), json, `added to ${folder}:`);
      return 0;
    }
    case 'import-masterlist':
      print(await importMasterListFile(folder, needsFile(), config.trust.pins), json, `imported into ${folder}:`);
      return 0;
    case 'import-ldif':
      print(await importLdifFile(folder, needsFile(), config.trust.pins), json, `imported into ${folder}:`);
      return 0;
    default:
      throw new KioskError('USAGE', `trust takes list, add, import-masterlist or import-ldif\n\n${help}`);
  }
}
