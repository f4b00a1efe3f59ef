// Child process of migration-crash.int.test.ts: opens the store (start-up runs migration 004) and kills itself
// with SIGKILL right after the statement named by its argument ran, i.e. inside 004's uncommitted transaction.
import Database from 'better-sqlite3';
import { TransactionStore } from '@kiosk/store';

const [path, keyFile, signingKeyFile, killAfter] = process.argv.slice(2) as [string, string, string, string];

// The originals are only ever called with .call(this) below, on the connection they were invoked on.
// eslint-disable-next-line @typescript-eslint/unbound-method
const exec = Database.prototype.exec;
// eslint-disable-next-line @typescript-eslint/unbound-method
const pragma = Database.prototype.pragma;
Database.prototype.exec = function (this: Database.Database, source: string) {
  // A one-page cache makes SQLite spill the rebuild's dirty pages into the WAL before commit, so the crash leaves
  // uncommitted frames there that recovery must ignore (not just changes that only ever lived in memory).
  if (source.includes('CREATE TABLE transactions_v4')) pragma.call(this, 'cache_size = 1');
  const result = exec.call(this, source);
  if (source.includes(killAfter)) process.kill(process.pid, 'SIGKILL');
  return result;
};
Database.prototype.pragma = function (this: Database.Database, source: string, options?: Database.PragmaOptions) {
  const result: unknown = pragma.call(this, source, options);
  if (source.includes(killAfter)) process.kill(process.pid, 'SIGKILL');
  return result;
};

TransactionStore.open({ path, keyFile, signingKeyFile }).close();
process.stdout.write('migrated without being killed\n');
