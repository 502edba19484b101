// The main job as a process: when it is killed mid-run, its coordinator and clients stop too.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILT_IN_DATASETS, buildDataset, forkTypeScript, formatInteractionsCsv, loadInteractions } from '@distillate/shared';
import { describe, expect, it, onTestFinished } from 'vitest';

const require = createRequire(import.meta.url);
const MAIN_JOB_ENTRY = require.resolve('../simulations/src/main.ts');

/** Returns the ids of the running processes whose command line contains `text` (Linux /proc). */
async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (commandLine.includes(text)) found.push(Number(entry));
    } catch {
      // The process ended while the folder was listed.
    }
  }
  return found;
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.runIf(process.platform === 'linux')('main job process', () => {
  it('stops its children when killed', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-main-process-'));
    const dataset = buildDataset(await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']));
    const datasetFile = path.join(folder, 'sample.csv');
    await writeFile(datasetFile, formatInteractionsCsv(dataset, dataset.users.slice(0, 40)));
    const output = path.join(folder, 'runs');

    // Enough rounds that the job is still federating when it is killed.
    const job = forkTypeScript(MAIN_JOB_ENTRY, ['--dataset', datasetFile, '--clients', '2', '--rounds', '500', '--baseline-epochs', '2', '--output', output], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    onTestFinished(async () => {
      job.kill('SIGKILL');
      for (const pid of await processesMentioning(output)) process.kill(pid, 'SIGKILL');
    });
    let printed = '';
    job.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    job.stderr!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });

    await waitFor(() => /round [2-9]\d*\/500/.test(printed) || job.exitCode !== null, 'the second round', 50_000);
    expect(job.exitCode, printed).toBeNull();
    // The coordinator and the two clients; the job itself also names the folder, in --output.
    const children = (await processesMentioning(output)).filter((pid) => pid !== job.pid);
    expect(children.length).toBe(3);

    job.kill('SIGKILL');
    await waitFor(async () => (await processesMentioning(output)).length === 0, 'the coordinator and clients to exit', 15_000);
    expect(await processesMentioning(output)).toEqual([]);
  });
});
