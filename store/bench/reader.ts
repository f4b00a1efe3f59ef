// The sync agent's read side for store.bench.ts: a second process that polls the outbox for due deliveries and
// reads their rows, as fast as it can, until killed. Prints the number of polls on SIGTERM.
import Database from 'better-sqlite3';

const db = new Database(process.argv[2], { readonly: true });
db.pragma('busy_timeout = 5000');
const due = db.prepare(
  `SELECT o.id, o.idempotency_key, o.payload FROM outbox o
   WHERE o.delivered_at IS NULL AND o.dead_letter = 0 AND o.next_attempt_at <= ?
     AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate = o.aggregate AND e.aggregate_seq < o.aggregate_seq AND e.delivered_at IS NULL AND e.dead_letter = 0)
   ORDER BY o.next_attempt_at, o.id LIMIT 20`,
);
const tail = db.prepare('SELECT * FROM outbox ORDER BY id DESC LIMIT 20');
let polls = 0;
process.on('SIGTERM', () => {
  process.stdout.write(`${polls}\n`);
  process.exit(0);
});
process.stdout.write('ready\n');
for (;;) {
  due.all(Date.now());
  tail.all();
  polls++;
  if (polls % 50 === 0) await new Promise((r) => setImmediate(r));
}
