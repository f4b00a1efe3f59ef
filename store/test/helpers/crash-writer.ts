// Child process of the kill -9 campaign (crash-safety.int.test.ts): records transactions in a loop and prints
// "ack <id>" only after recordTransaction returned, i.e. after the commit was fsynced. Also plays the sync agent
// now and then, so kills land inside delivery updates and audit checkpoints too.
import { TransactionStore } from '@kiosk/store';

const [path, keyFile, signingKeyFile] = process.argv.slice(2) as [string, string, string];
const store = TransactionStore.open({ path, keyFile, signingKeyFile, checkpointEvery: 7 });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const rec = store.recordTransaction({
    kind: 'hospital-registration',
    status: 'completed',
    verdict: { chip: 'genuine', faceMatch: 'match' },
    citizen: { idNumber: '001090012345', fields: { fullName: 'Nguyễn Văn An' } },
    deliveries: [
      { upstream: 'his', payload: { department: 'noi-tong-quat', n: i } },
      { upstream: 'population', payload: { check: true } },
    ],
  });
  // Pipes are synchronous on Linux: the line is in the pipe before the next transaction starts.
  process.stdout.write(`ack ${rec.id}\n`);
  if (i % 5 === 4) for (const d of store.claimDue({ limit: 2 })) store.markDelivered(d.id);
}
