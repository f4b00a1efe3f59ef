import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isKioskError, KioskError, parseCliArgs } from '@kiosk/common';
import { parseDg1 } from '../emrtd/lds/dg1.js';
import { OFFLINE_CHIP_CHECKS } from '../verify/chip-checks.js';
import { verifyDocument } from '../verify/passive-authentication.js';
import { formatVerdict, verdictJson, verificationSetup, VERIFY_OPTIONS, VERIFY_OPTIONS_HELP } from './verification-options.js';

export const VERIFY_HELP = `  kiosk-card verify (--sod EF_SOD.bin --dg 1=DG1.bin --dg 13=DG13.bin ... | --dir DIR) [--trust PATH]
                    [--policy P] [--at YYYY-MM-DD] [--json] [--allow-test-pki]
      verify files read from a card, offline (Passive Authentication: SOD signature, DS -> CSCA chain, CRL, data
      group hashes); Active and Chip Authentication need the chip and are reported not-possible, which the notary
      policy does not accept (public-service and hospital send the card to staff review). --dir DIR takes EF_SOD.bin and DG<n>.bin from a \`kiosk-card read --out DIR\`.
      The MRZ issuing state is taken from DG1 when given. Exit 0 accepted, 1 rejected or needs review.
      --json      the verdict as JSON on stdout
${VERIFY_OPTIONS_HELP}`;

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new KioskError('USAGE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** The files named by --sod/--dg, or the EF_SOD.bin and DG<n>.bin of a read --out folder. */
async function inputFiles(values: { sod?: string | undefined; dg?: string[] | undefined; dir?: string | undefined }, help: string): Promise<Map<string, Uint8Array>> {
  const paths = new Map<string, string>();
  if (values.dir !== undefined) {
    let names: string[];
    try {
      names = await readdir(values.dir);
    } catch (cause) {
      throw new KioskError('USAGE', `cannot read the folder ${values.dir}: ${(cause as Error).message}`, { cause });
    }
    for (const name of names) {
      const dg = /^DG(\d{1,2})\.bin$/.exec(name);
      if (name === 'EF_SOD.bin') paths.set('EF.SOD', join(values.dir, name));
      else if (dg) paths.set(`DG${Number(dg[1])}`, join(values.dir, name));
    }
  }
  if (values.sod !== undefined) paths.set('EF.SOD', values.sod);
  for (const spec of values.dg ?? []) {
    const match = /^(\d{1,2})=(.+)$/.exec(spec);
    const number = Number(match?.[1]);
    if (!match || number < 1 || number > 16) throw new KioskError('USAGE', `--dg takes N=FILE with N in 1..16, got "${spec}"\n\n${help}`);
    paths.set(`DG${number}`, match[2] as string);
  }
  if (!paths.has('EF.SOD')) throw new KioskError('USAGE', `give --sod EF_SOD.bin (or --dir with an EF_SOD.bin)\n\n${help}`);
  const files = new Map<string, Uint8Array>();
  for (const [name, path] of paths) files.set(name, await readInput(path));
  return files;
}

/** The MRZ issuing state from DG1; a DG1 that does not parse leaves it out (its hash check still runs). */
function issuingStateOf(dg1: Uint8Array | undefined): string | undefined {
  if (!dg1) return undefined;
  try {
    return parseDg1(dg1).issuingState;
  } catch (err) {
    if (isKioskError(err)) return undefined;
    throw err;
  }
}

export async function verifyCommand(args: string[], help: string): Promise<number> {
  const { values } = parseCliArgs(
    {
      args,
      options: { sod: { type: 'string' }, dg: { type: 'string', multiple: true }, dir: { type: 'string' }, json: { type: 'boolean' }, ...VERIFY_OPTIONS },
      strict: true,
    },
    help,
  );
  const files = await inputFiles(values, help);
  const setup = await verificationSetup(values, help);
  const verdict = verifyDocument({ files, issuingState: issuingStateOf(files.get('DG1')), trust: setup.trust, at: setup.at, policy: setup.policy, ...OFFLINE_CHIP_CHECKS });
  if (values.json) process.stdout.write(`${JSON.stringify({ files: Object.fromEntries([...files].map(([n, b]) => [n, b.length])), verification: verdictJson(verdict) }, null, 2)}\n`);
  else process.stdout.write(formatVerdict(verdict));
  return verdict.decision === 'accept' ? 0 : 1;
}
