// A worker process that trains one reference student (`local` for one client, or `central` on
// all data) and sends back its metric sums. Started by the baseline pool with an IPC channel.
import { type StudentConfig, type TrainingConfig, createStudent, initializeTensorFlow, trainLocally } from '@distillate/client';
import { buildDataset, loadInteractions, splitLeaveOneOut } from '@distillate/shared';

export interface BaselineJob {
  name: string;
  dataFile: string;
  itemIds: string[];
  student: Omit<StudentConfig, 'itemCount' | 'seed'>;
  training: TrainingConfig;
  maxEpochs: number;
  seed: number;
}

process.once('message', (job: BaselineJob) => {
  runJob(job)
    .then((result) => process.send!({ type: 'result', result }))
    .catch((error: unknown) => process.send!({ type: 'failed', error: error instanceof Error ? error.message : String(error) }))
    .finally(() => process.disconnect());
});

async function runJob(job: BaselineJob) {
  await initializeTensorFlow();
  const dataset = buildDataset(await loadInteractions(job.dataFile), { itemIds: job.itemIds });
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
