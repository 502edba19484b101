// A worker process that trains reference students (`local` for one client, or `central` on all
// data), one job per message, and replies to each with its metric sums. The baseline pool starts
// it with an IPC channel, and it ends when the pool disconnects.
import { type StudentConfig, type TrainingConfig, createStudent, initializeTensorFlow, trainLocally } from '@distillate/client';
import {
  type InteractionTable,
  buildDataset,
  loadInteractions,
  rowsByUser,
  selectUsers,
  sendToParent,
  splitLeaveOneOut,
} from '@distillate/shared';

export interface BaselineJob {
  name: string;
  dataFile: string;
  /** Only these users of the data file; all of them when absent. */
  userIds?: string[];
  itemIds: string[];
  student: Omit<StudentConfig, 'itemCount' | 'seed'>;
  training: TrainingConfig;
  maxEpochs: number;
  seed: number;
}

process.on('message', (job: BaselineJob) => {
  runJob(job)
    .then((result) => sendToParent({ type: 'result', result }))
    .catch((error: unknown) => sendToParent({ type: 'failed', error: error instanceof Error ? error.message : String(error) }));
});

/** Tables read so far, by file: many jobs of a cross-device run read the same file. */
const tables = new Map<string, Promise<{ table: InteractionTable; index: Map<string, number[]> }>>();

async function runJob(job: BaselineJob) {
  await initializeTensorFlow();
  if (!tables.has(job.dataFile)) {
    tables.set(job.dataFile, loadInteractions(job.dataFile).then((table) => ({ table, index: rowsByUser(table) })));
  }
  const { table, index } = await tables.get(job.dataFile)!;
  const interactions = job.userIds ? selectUsers(table, job.userIds, index) : table;
  const dataset = buildDataset(interactions, { itemIds: job.itemIds });
  const splits = splitLeaveOneOut(dataset, job.seed);
  const student = createStudent({ ...job.student, itemCount: job.itemIds.length, seed: job.seed });
  const outcome = await trainLocally(student, splits, {
    training: job.training,
    maxEpochs: job.maxEpochs,
    evaluateEvery: 5,
    patience: 4,
    seed: job.seed,
  });
  student.dispose();
  return { name: job.name, users: splits.length, ...outcome };
}
