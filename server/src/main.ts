// Runs a coordinator in its own process:
//   tsx server/src/main.ts --catalog shared/datasets/ml-latest-small --rounds 10 --min-clients 2
// When started with an IPC channel (child_process.fork), it reports progress to its parent.
import { parseArgs } from 'node:util';

import { buildDataset, loadInteractions, readJsonFile, sendToParent, stopWithParent } from '@distillate/shared';
import pino from 'pino';

import { Coordinator, type CoordinatorEvents } from './coordinator.js';
import type { CoordinatorConfig } from './coordinator-config.js';

const USAGE = `Usage: coordinator (--catalog PATH | --config FILE) [options]

  --catalog PATH      dataset whose items form the public catalog (MovieLens folder, CSV or TSV)
  --config FILE       JSON file of coordinator settings, itemIds included
  --host HOST         interface to listen on (default 127.0.0.1)
  --port N            TCP port; 0 picks a free one (default 0)
  --rounds N          rounds of federated distillation (default 10)
  --min-clients N     rounds start once this many clients have registered (default 2)
  --log-level LEVEL   pino level: fatal, error, warn, info, debug (default info)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      catalog: { type: 'string' },
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      rounds: { type: 'string' },
      'min-clients': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }

  const config: Partial<CoordinatorConfig> = values.config ? await readConfigFile(values.config) : {};
  if (values.catalog) config.itemIds = buildDataset(await loadInteractions(values.catalog)).itemIds;
  if (!config.itemIds) throw new Error(`Give the catalog with --catalog or an itemIds list in --config.\n\n${USAGE}`);
  if (values.host) config.host = values.host;
  if (values.port) config.port = integerOption('--port', values.port, 0, 65_535);
  if (values.rounds) config.rounds = integerOption('--rounds', values.rounds, 1);
  if (values['min-clients']) config.minClients = integerOption('--min-clients', values['min-clients'], 1);

  // Synchronous writes: a parent may stop this process right after its last message, and buffered lines would be lost.
  const logger = pino({ level: values['log-level'] }, pino.destination({ dest: 2, sync: true }));
  const coordinator = new Coordinator({ ...config, itemIds: config.itemIds, logger });
  // Listen for the parent's exit before starting, so that a parent gone during start-up still stops this process.
  const cancelStopWithParent = process.send ? stopWithParent(() => logger.warn('parent process exited; stopping the coordinator')) : () => {};
  const url = await coordinator.start();
  if (process.send) {
    sendToParent({ type: 'listening', url, fingerprint: coordinator.fingerprint });
    forwardEvents(coordinator);
  } else {
    console.log(`Coordinator listening on ${url}\nKey fingerprint: ${coordinator.fingerprint}`);
  }

  const results = await coordinator.results();
  await sendToParent({ type: 'results', results });
  await coordinator.stop();
  cancelStopWithParent();
  if (process.connected) process.disconnect();
}

function forwardEvents(coordinator: Coordinator): void {
  const names: Array<keyof CoordinatorEvents> = ['client-registered', 'round-opened', 'upload-accepted', 'upload-rejected', 'round-closed', 'report-received'];
  for (const name of names) {
    coordinator.on(name, (event: object) => sendToParent({ type: name, ...event }));
  }
}

function integerOption(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`${name} is "${value}"; expected an integer ${range}.`);
  }
  return parsed;
}

/** Reads the --config file. The coordinator validates its fields, together with the flags, when it starts. */
async function readConfigFile(file: string): Promise<Partial<CoordinatorConfig>> {
  const value = await readJsonFile(file, 'config file', '--config');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Invalid config file ${file}: expected one JSON object of coordinator settings.`);
  }
  return value as Partial<CoordinatorConfig>;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
