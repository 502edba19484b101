// Runs one federation client in its own process:
//   tsx client/src/main.ts --coordinator http://127.0.0.1:PORT --data interactions.csv
// When started with an IPC channel (child_process.fork), it reports progress to its parent.
import { parseArgs } from 'node:util';

import { createIdentity, identityFromSeed, loadInteractions, sendToParent, stopWithParent } from '@distillate/shared';
import pino from 'pino';

import { FederationClient } from './federation-client.js';
import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings } from './fedpdd-learner.js';
import { readFedPddSettingsFile } from './fedpdd-settings-file.js';
import { CLIENT_ALGORITHMS, createLearner } from './learner-factory.js';

const USAGE = `Usage: client --coordinator URL --data FILE [options]

  --coordinator URL   coordinator address, for example http://127.0.0.1:8080
  --data FILE         this client's interactions: CSV or TSV of user,item[,value][,timestamp],
                      or a MovieLens folder
  --fingerprint FP    expected coordinator key fingerprint; any other coordinator is refused
  --algorithm NAME    ${CLIENT_ALGORITHMS.join(', ')} (default fedpdd); it must match what
                      the coordinator runs
  --settings FILE     JSON file of learner settings (FedPDD's fields; fedavg uses the student,
                      training, localEpochs, finalEpochs and seed) that override the defaults;
                      unknown or invalid fields are rejected
  --seed N            seed of initialisation, training order and evaluation (default 1);
                      it replaces any seed in the settings file
  --identity-seed S   derive the client's keys from S instead of drawing them at random;
                      for reproducible simulations only, since S gives away the keys
  --log-level LEVEL   pino level: fatal, error, warn, info, debug (default info)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      coordinator: { type: 'string' },
      data: { type: 'string' },
      fingerprint: { type: 'string' },
      settings: { type: 'string' },
      algorithm: { type: 'string', default: 'fedpdd' },
      seed: { type: 'string', default: '1' },
      'identity-seed': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.coordinator || !values.data) {
    throw new Error(`--coordinator and --data are required.\n\n${USAGE}`);
  }
  if (!isHttpUrl(values.coordinator)) {
    throw new Error(`--coordinator is "${values.coordinator}"; expected an http:// or https:// URL such as http://127.0.0.1:8080.`);
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed is "${values.seed}"; expected an integer.`);

  const fromFile = values.settings ? await readFedPddSettingsFile(values.settings) : DEFAULT_FEDPDD_SETTINGS;
  const settings: FedPddSettings = { ...fromFile, seed };
  // Synchronous writes: a parent may stop this process right after its last message, and buffered lines would be lost.
  const logger = pino({ level: values['log-level'] }, pino.destination({ dest: 2, sync: true }));

  const learner = createLearner(values.algorithm, await loadInteractions(values.data), settings);
  const client = new FederationClient({
    url: values.coordinator,
    identity: values['identity-seed'] ? identityFromSeed(values['identity-seed']) : createIdentity(),
    learner,
    coordinatorFingerprint: values.fingerprint,
    logger,
  });

  client.on('registered', (event) => sendToParent({ type: 'registered', ...event }));
  client.on('round-started', (event) => sendToParent({ type: 'round-started', ...event }));
  client.on('round-uploaded', (event) => sendToParent({ type: 'round-uploaded', ...event }));
  client.on('teacher-received', (event) => sendToParent({ type: 'teacher-received', ...event }));

  client.on('error', (error) => logger.error({ err: error.message }, 'client stopped'));

  const cancelStopWithParent = stopWithParent(() => {
    logger.warn({ clientId: client.clientId }, 'parent process exited; stopping the client');
    client.close();
  });

  try {
    // Awaiting both together handles a failure during registration, which rejects both.
    const [, finalReport] = await Promise.all([client.connect(), client.finished()]);
    await sendToParent({ type: 'finished', clientId: client.clientId, report: finalReport });
    if (!process.send) console.log(JSON.stringify({ clientId: client.clientId, report: finalReport }));
  } finally {
    cancelStopWithParent();
    client.close();
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
