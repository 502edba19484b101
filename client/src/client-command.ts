// The `distillate client` command: joins a coordinator with a local data file, learns through
// the rounds, and prints its evaluation report. Outside simulations, a client keeps its key
// file and its learner's checkpoint in a state folder, so that a restarted client keeps its id
// and goes on learning where it stopped. When started with an IPC channel
// (child_process.fork), as simulations start it, it reports its progress to the parent process.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import {
  type EvaluationReport,
  type OptionLabel,
  checkLogLevel,
  optionLabeller,
  identityFromSeed,
  loadInteractions,
  loadOrCreateIdentityFile,
  metricMeans,
  sendToParent,
  stopWithParent,
} from '@distillate/shared';
import { Command, Option } from 'commander';
import pino from 'pino';

import { FederationClient } from './federation-client.js';
import { DEFAULT_FEDPDD_SETTINGS, type FedPddSettings } from './fedpdd-learner.js';
import { readFedPddSettingsFile } from './fedpdd-settings-file.js';
import { CLIENT_ALGORITHMS, createLearner } from './learner-factory.js';

interface ClientOptions {
  coordinator?: string;
  data?: string;
  fingerprint?: string;
  token?: string;
  ca?: string;
  state?: string;
  identity?: string;
  algorithm: string;
  settings?: string;
  seed: string;
  identitySeed?: string;
  logLevel: string;
}

const DEFAULT_STATE_FOLDER = 'distillate-client';

export function clientCommand(name = 'client'): Command {
  const option = (flags: string, description: string, env: string) => new Option(flags, description).env(env);
  return new Command(name)
    .description("Join a coordinator with this machine's interactions; only encrypted logits on the public transfer set leave it.")
    .addOption(option('--coordinator <url>', 'coordinator address, such as https://coordinator.example:8080 (required)', 'DISTILLATE_COORDINATOR'))
    .addOption(option('--data <file>', "this client's interactions: CSV or TSV of user,item[,value][,timestamp], or a MovieLens folder (required)", 'DISTILLATE_DATA'))
    .addOption(option('--fingerprint <fingerprint>', "the coordinator's key fingerprint, as it prints at start; any other coordinator is rejected", 'DISTILLATE_FINGERPRINT'))
    .addOption(option('--token <token>', 'one-time enrollment token, for a coordinator in token mode', 'DISTILLATE_TOKEN'))
    .addOption(option('--ca <file>', 'PEM certificate to trust for an https coordinator, such as its self-signed certificate', 'DISTILLATE_CA'))
    .addOption(option('--state <folder>', `folder for the key file and the learner's checkpoint (default: ${DEFAULT_STATE_FOLDER})`, 'DISTILLATE_CLIENT_STATE'))
    .addOption(option('--identity <file>', "the client's key file, created when missing (default: identity.json in the state folder)", 'DISTILLATE_CLIENT_IDENTITY'))
    .addOption(option('--algorithm <name>', `${CLIENT_ALGORITHMS.join(', ')}; it must match what the coordinator runs`, 'DISTILLATE_ALGORITHM').default('fedpdd'))
    .addOption(
      option('--settings <file>', "JSON file of learner settings (FedPDD's fields; fedavg uses student, training, localEpochs, finalEpochs and seed)", 'DISTILLATE_SETTINGS'),
    )
    .addOption(option('--seed <integer>', 'seed of initialisation, training order and evaluation; it replaces any seed in the settings file', 'DISTILLATE_SEED').default('1'))
    .addOption(
      new Option('--identity-seed <text>', 'derive the keys from this text and keep no state folder; for reproducible simulations only, since the text gives away the keys'),
    )
    .addOption(option('--log-level <level>', 'pino log level: fatal, error, warn, info or debug', 'DISTILLATE_LOG_LEVEL').default('info'))
    .action(async (options: ClientOptions, command: Command) => {
      await runClient(options, optionLabeller(command));
    });
}

async function runClient(options: ClientOptions, label: OptionLabel): Promise<void> {
  const missing = (['coordinator', 'data'] as const).filter((key) => !options[key]).map((key) => `--${key}`);
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} required; see --help.`);
  if (!isHttpUrl(options.coordinator!)) {
    throw new Error(`${label('coordinator')} is "${options.coordinator}"; expected an http:// or https:// URL such as http://127.0.0.1:8080.`);
  }
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new Error(`${label('seed')} is "${options.seed}"; expected an integer.`);
  checkLogLevel(options.logLevel, label('logLevel'));
  const ca = options.ca === undefined ? undefined : await readCertificates(options.ca, label('ca'));

  const fromFile = options.settings ? await readFedPddSettingsFile(options.settings) : DEFAULT_FEDPDD_SETTINGS;
  const settings: FedPddSettings = { ...fromFile, seed };
  // Synchronous writes: a parent may stop this process right after its last message, and buffered lines would be lost.
  const logger = pino({ level: options.logLevel }, pino.destination({ dest: 2, sync: true }));

  // A simulated client keeps no state unless asked; a real one keeps its keys and checkpoint in the state folder.
  const stateFolder = options.state ?? (options.identitySeed === undefined ? DEFAULT_STATE_FOLDER : null);
  if (stateFolder !== null) await makeStateFolder(stateFolder, options.state === undefined ? 'the state folder' : label('state'));
  const identity =
    options.identitySeed !== undefined
      ? identityFromSeed(options.identitySeed)
      : await loadOrCreateIdentityFile(options.identity ?? path.join(stateFolder!, 'identity.json'), logger);

  const learner = createLearner(options.algorithm, await loadInteractions(options.data!), settings);
  const client = new FederationClient({
    url: options.coordinator!,
    identity,
    learner,
    coordinatorFingerprint: options.fingerprint,
    enrollmentToken: options.token,
    ca,
    checkpointFile: stateFolder === null ? undefined : path.join(stateFolder, `${options.algorithm}.checkpoint`),
    logger,
  });
  if (options.fingerprint === undefined) {
    logger.warn('no --fingerprint given: this client trusts any coordinator at that address');
  }

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
    if (!process.send) printReport(client.clientId!, finalReport, client.teachersReceived);
  } finally {
    cancelStopWithParent();
    client.close();
  }
}

/** Prints the client's test metrics, means over its users, then the whole report as one JSON line. */
function printReport(clientId: string, report: EvaluationReport, teachers: number): void {
  const full = metricMeans(report.test.full);
  const sampled = metricMeans(report.test.sampled);
  console.log(`Client ${clientId}: ${full.users} test users`);
  console.log(`  full ranking:    HR@10 ${full.hitRate[10].toFixed(4)}  NDCG@10 ${full.ndcg[10].toFixed(4)}  MRR ${full.mrr.toFixed(4)}`);
  console.log(`  sampled (1+99):  HR@10 ${sampled.hitRate[10].toFixed(4)}  NDCG@10 ${sampled.ndcg[10].toFixed(4)}  MRR ${sampled.mrr.toFixed(4)}`);
  console.log(`  learned from ${teachers} teachers; sent ${report.bytesSent} bytes, received ${report.bytesReceived} bytes`);
  console.log(JSON.stringify({ clientId, report }));
}

/** Reads the PEM certificates a client trusts, and checks that the file contains at least one. */
async function readCertificates(file: string, label: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read ${label} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check the path.`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`${label} file ${file} contains no PEM certificate (no "-----BEGIN CERTIFICATE-----" line). Give the coordinator's certificate, not its key.`);
  }
  return text;
}

async function makeStateFolder(folder: string, label: string): Promise<void> {
  const existing = await stat(folder).catch(() => null);
  if (existing !== null && !existing.isDirectory()) throw new Error(`${label} ${folder} is a file; expected a folder for the client's key file and checkpoint.`);
  await mkdir(folder, { recursive: true, mode: 0o700 });
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
