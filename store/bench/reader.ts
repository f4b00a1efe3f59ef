// The sync agent's read side for store.bench.ts: a second process that polls the outbox for due deliveries and
// reads their rows, as fast as it can, until killed. Prints the number of polls on SIGTERM.
import Database from 'better-sqlite3';
import { CLAIM_DUE_SQL } from '../src/outbox.js';

const db = new Database(process.argv[2], { readonly: true });
db.pragma('busy_timeout = 5000');
const due = db.prepare(CLAIM_DUE_SQL);
const tail = db.prepare('SELECT * FROM outbox ORDER BY id DESC LIMIT 20');
let polls = 0;
process.on('SIGTERM', () => {
  process.stdout.write(`${polls}\n`);
  process.exit(0);
});
process.stdout.write('ready\n');
for (;;) {
  due.all({ now: Date.now(), upstream: null, limit: 20 });
  tail.all();
  polls++;
  if (polls % 50 === 0) await new Promise((r) => setImmediate(r));
}
