import { pino } from 'pino';
import type { BenchSuite } from '../src/bench.js';
import { createLogger } from '../src/logger.js';

// The cost of never logging personal data: our deep redaction against pino's own fixed-path redaction (which
// misses fields at unexpected depths) and against no redaction at all (the floor). Output goes to /dev/null.
const record = {
  reader: 'Virtual PCD 00 00',
  durationMs: 812,
  holder: { fullName: 'Trần Thị Bích Ngọc', idNumber: '079301000456', dateOfBirth: '12/03/2001', address: 'Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh' },
  files: [{ name: 'DG13', bytes: 412 }, { name: 'DG2', bytes: 18_204 }],
};

const devNull = (): ReturnType<typeof pino.destination> => pino.destination({ dest: '/dev/null', sync: true });

const suite: BenchSuite = {
  title: 'logging',
  cases: () => {
    const ours = createLogger({ name: 'bench', destination: devNull() });
    const pinoPaths = pino({ name: 'bench', redact: ['holder.fullName', 'holder.idNumber', 'holder.dateOfBirth', 'holder.address'] }, devNull());
    const plain = pino({ name: 'bench' }, devNull());
    return [
      {
        kind: 'time',
        name: 'one log line carrying a card holder (ms)',
        ours: () => ours.info(record, 'card read'),
        peers: {
          'pino fixed-path redact': () => pinoPaths.info(record, 'card read'),
          'pino, no redaction (floor)': () => plain.info(record, 'card read'),
        },
      },
    ];
  },
};

export default suite;
