import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/kiosk-sync.js', import.meta.url));

describe('kiosk-sync policy', () => {
  it('prints the classification and the retry ceilings as JSON', async () => {
    const { stdout } = await run(process.execPath, [bin, 'policy', '--json', '--attempts', '3']);
    const out = JSON.parse(stdout) as { answers: Array<{ status: number | null; outcome: string }>; schedule: Array<{ attempt: number; ceilingMs: number }> };
    expect(out.answers).toContainEqual({ status: 503, outcome: 'retry' });
    expect(out.answers).toContainEqual({ status: 422, outcome: 'rejected' });
    expect(out.answers).toContainEqual({ status: null, outcome: 'retry' });
    expect(out.schedule).toEqual([{ attempt: 0, ceilingMs: 1000 }, { attempt: 1, ceilingMs: 2000 }, { attempt: 2, ceilingMs: 4000 }]);
  });

  it('exits 2 on a bad --attempts', async () => {
    await expect(run(process.execPath, [bin, 'policy', '--attempts', 'many'])).rejects.toMatchObject({ code: 2 });
  });
});
