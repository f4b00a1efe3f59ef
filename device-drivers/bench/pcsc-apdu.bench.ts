import type { BenchSuite } from '@kiosk/common/bench';
import { encodeCommand } from '../src/smartcard/apdu.js';
import type { PcscCardSession } from '../src/smartcard/pcsc/pcsc-service.js';
import { pcscStackMissing } from '../src/smartcard/pcscd/pcscd-process.js';
import { ProbeCard } from '../src/smartcard/vpcd/probe-card.js';
import { PcscHarness } from '../src/testing/pcsc-harness.js';

// One APDU round trip through the real PC/SC stack (our transport -> pcsclite -> pcscd -> vpcd -> TCP -> virtual
// card) against calling the same virtual card in process: the fixed cost per APDU that the read strategy of the
// card stack must amortise.
let harness: PcscHarness;
let session: PcscCardSession;
const card = new ProbeCard();
const getChallenge = encodeCommand({ cla: 0, ins: 0x84, p1: 0, p2: 0, le: 8 });

const suite: BenchSuite = {
  title: 'PC/SC transport',
  skipReason: pcscStackMissing,
  async setup() {
    harness = await PcscHarness.start();
    const inserted = await harness.insert(card, 0);
    session = await harness.service.connect(inserted.reader.name);
  },
  cases: () => [
    {
      kind: 'time',
      name: 'GET CHALLENGE round trip (ms)',
      ours: () => session.transmit(getChallenge),
      peers: { 'in-process virtual card (floor)': () => card.process(getChallenge) },
    },
  ],
  async teardown() {
    await session?.close();
    await harness?.stop();
  },
};

export default suite;
