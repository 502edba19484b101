// The `distillate coordinator` command. It reads the settings from a config file, environment
// variables and flags, where flags override the environment and the environment overrides the
// file. It loads or creates the coordinator's key file and runs a federation until its last
// report is in.
// When started with an IPC channel (child_process.fork), as simulations start it, it also
// reports its progress and results to the parent process.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import {
  BUILT_IN_DATASETS,
  type OptionLabel,
  checkLogLevel,
  optionLabeller,
  buildDataset,
  createIdentity,
  loadInteractions,
  loadOrCreateIdentityFile,
  readJsonFile,
  sendToParent,
  stopWithParent,
} from '@distillate/shared';
import { Command, Option } from 'commander';
import pino, { type Logger } from 'pino';

import { Coordinator, type CoordinatorEvents } from './coordinator.js';
import { type CoordinatorConfig, DEFAULT_COORDINATOR_CONFIG, resolveCoordinatorConfig } from './coordinator-config.js';
import { ENROLLMENT_MODES, type EnrollmentMode, type EnrollmentSettings, checkEnrollmentSettings } from './enrollment.js';

/** Settings of a config file: the coordinator's settings, with paths in place of keys and certificates. */
export interface CoordinatorFileSettings extends Partial<Omit<CoordinatorConfig, 'identity' | 'logger' | 'tls'>> {
  /** Dataset whose items form the public catalog, when itemIds is absent. */
  catalog?: string;
  /** Key file of the coordinator, created when missing; null for fresh keys that last one run. */
  identityFile?: string | null;
  tlsCert?: string;
  tlsKey?: string;
  /** File of client ids admitted in allowlist mode, one per line. */
  allowlistFile?: string;
  /** File of one-time enrollment tokens, one per line. */
  tokensFile?: string;
}

interface CoordinatorOptions {
  config?: string;
  catalog?: string;
  host?: string;
  port?: string;
  rounds?: string;
  minClients?: string;
  clientsPerRound?: string;
  quorum?: string;
  roundTimeout?: string;
  database?: string;
  identity?: string;
  tlsCert?: string;
  tlsKey?: string;
  enrollment?: string;
  allowlist?: string;
  tokens?: string;
  logLevel: string;
}

const DEFAULT_PORT = 8080;
const DEFAULT_DATABASE = 'distillate-coordinator.db';
const DEFAULT_IDENTITY_FILE = 'coordinator-identity.json';

export function coordinatorCommand(name = 'coordinator'): Command {
  const option = (flags: string, description: string, env: string) => new Option(flags, description).env(env);
  return new Command(name)
    .description('Run a coordinator: it admits clients, runs the rounds and aggregates their logits into teachers.')
    .addOption(option('--config <file>', 'JSON file of coordinator settings; environment variables and flags override it', 'DISTILLATE_CONFIG'))
    .addOption(option('--catalog <path>', 'dataset whose items form the public catalog (default: the built-in ml-latest-small)', 'DISTILLATE_CATALOG'))
    .addOption(option('--host <host>', 'interface to listen on (default: 127.0.0.1)', 'DISTILLATE_HOST'))
    .addOption(option('--port <port>', `TCP port; 0 picks a free one (default: ${DEFAULT_PORT})`, 'DISTILLATE_PORT'))
    .addOption(option('--rounds <count>', 'rounds of federated distillation (default: 10)', 'DISTILLATE_ROUNDS'))
    .addOption(option('--min-clients <count>', 'clients that must be connected before the first round opens (default: 2)', 'DISTILLATE_MIN_CLIENTS'))
    .addOption(option('--clients-per-round <count>', 'clients sampled for each round, seeded (default: every connected client)', 'DISTILLATE_CLIENTS_PER_ROUND'))
    .addOption(option('--quorum <count|share>', 'fewest uploads that make a teacher, as a count (3) or a share of the participants (50%) (default: 1)', 'DISTILLATE_QUORUM'))
    .addOption(option('--round-timeout <seconds>', 'deadline of each round after its task is sent, in seconds (default: 600)', 'DISTILLATE_ROUND_TIMEOUT'))
    .addOption(option('--database <file>', `SQLite file that keeps the federation across restarts; "none" keeps it in memory (default: ${DEFAULT_DATABASE})`, 'DISTILLATE_DATABASE'))
    .addOption(option('--identity <file>', `the coordinator's key file, created when missing (default: ${DEFAULT_IDENTITY_FILE})`, 'DISTILLATE_COORDINATOR_IDENTITY'))
    .addOption(option('--tls-cert <file>', 'PEM certificate chain; with --tls-key the coordinator serves https and wss', 'DISTILLATE_TLS_CERT'))
    .addOption(option('--tls-key <file>', 'PEM private key of the certificate', 'DISTILLATE_TLS_KEY'))
    .addOption(option('--enrollment <mode>', `who may join: ${ENROLLMENT_MODES.join(', ')} (required, here or in the config file)`, 'DISTILLATE_ENROLLMENT'))
    .addOption(option('--allowlist <file>', 'client ids admitted in allowlist mode, one per line (see `distillate keys show`)', 'DISTILLATE_ALLOWLIST'))
    .addOption(option('--tokens <file>', 'one-time enrollment tokens for token mode, one per line (see `distillate tokens`)', 'DISTILLATE_TOKENS'))
    .addOption(option('--log-level <level>', 'pino log level: fatal, error, warn, info or debug', 'DISTILLATE_LOG_LEVEL').default('info'))
    .action(async (options: CoordinatorOptions, command: Command) => {
      await runCoordinator(options, optionLabeller(command));
    });
}

/** Builds the `distillate tokens` command, which prints new one-time enrollment tokens for a --tokens file. */
export function tokensCommand(): Command {
  return new Command('tokens')
    .description('Print new one-time enrollment tokens, one per line, for a coordinator in token mode.')
    .option('--count <count>', 'number of tokens', '1')
    .action((options: { count: string }) => {
      const count = integer('--count', options.count, 1, 10_000);
      for (let index = 0; index < count; index++) console.log(randomBytes(24).toString('base64url'));
    });
}

async function runCoordinator(options: CoordinatorOptions, label: OptionLabel): Promise<void> {
  checkLogLevel(options.logLevel, label('logLevel'));
  // Synchronous writes: a parent may stop this process right after its last message, and buffered lines would be lost.
  const logger = pino({ level: options.logLevel }, pino.destination({ dest: 2, sync: true }));
  const config = await resolveSettings(options, label, logger);
  const coordinator = new Coordinator({ ...config, logger });

  // Listen for the parent's exit before starting, so that a parent gone during start-up still stops this process.
  const cancelStopWithParent = process.send ? stopWithParent(() => logger.warn('parent process exited; stopping the coordinator')) : () => {};
  const url = await coordinator.start();
  if (process.send) {
    sendToParent({ type: 'listening', url, fingerprint: coordinator.fingerprint });
    forwardEvents(coordinator);
  } else {
    console.log(`Coordinator listening on ${url}`);
    console.log(`Key fingerprint: ${coordinator.fingerprint}`);
    console.log(`Enrollment: ${config.enrollment.mode}; database: ${config.database ?? 'in memory'}`);
    stopOnSignals(coordinator, logger);
  }

  const results = await coordinator.results();
  await sendToParent({ type: 'results', results });
  if (!process.send) {
    const completed = results.rounds.filter((round) => round.state === 'closed' && round.failure === null).length;
    const reports = Object.keys(results.reports).length;
    if (coordinator.status().state === 'stopped') {
      const where = config.database === null ? 'Its state was in memory and is gone.' : `Start it again on ${config.database} to resume.`;
      console.log(`Coordinator stopped after ${completed} of ${config.rounds} rounds made a teacher. ${where}`);
    } else {
      console.log(`Federation finished: ${completed} of ${config.rounds} rounds made a teacher; ${reports} clients reported.`);
    }
  }
  await coordinator.stop();
  cancelStopWithParent();
  if (process.connected) process.disconnect();
}

/** Merges the config file, the environment and the flags into the coordinator's settings, reading the files they name. */
async function resolveSettings(options: CoordinatorOptions, label: OptionLabel, logger: Logger): Promise<CoordinatorConfig> {
  const file = options.config ? await readSettingsFile(options.config) : {};
  const settings: CoordinatorFileSettings = { ...file };
  if (options.catalog !== undefined) settings.catalog = options.catalog;
  if (options.host !== undefined) settings.host = options.host;
  if (options.port !== undefined) settings.port = integer(label('port'), options.port, 0, 65_535);
  if (options.rounds !== undefined) settings.rounds = integer(label('rounds'), options.rounds, 1);
  if (options.minClients !== undefined) settings.minClients = integer(label('minClients'), options.minClients, 1);
  if (options.clientsPerRound !== undefined) settings.clientsPerRound = integer(label('clientsPerRound'), options.clientsPerRound, 1);
  if (options.quorum !== undefined) settings.quorum = /^\d+$/.test(options.quorum) ? Number(options.quorum) : (options.quorum as `${number}%`);
  if (options.roundTimeout !== undefined) settings.roundTimeoutMs = integer(label('roundTimeout'), options.roundTimeout, 1) * 1000;
  if (options.database !== undefined) settings.database = options.database === 'none' ? null : options.database;
  if (options.identity !== undefined) settings.identityFile = options.identity;
  if (options.tlsCert !== undefined) settings.tlsCert = options.tlsCert;
  if (options.tlsKey !== undefined) settings.tlsKey = options.tlsKey;
  if (options.allowlist !== undefined) settings.allowlistFile = options.allowlist;
  if (options.tokens !== undefined) settings.tokensFile = options.tokens;

  const enrollment = { mode: undefined as EnrollmentMode | undefined, allowlist: [] as string[], tokens: [] as string[], ...settings.enrollment };
  if (options.enrollment !== undefined) enrollment.mode = options.enrollment as EnrollmentMode;
  if (enrollment.mode === undefined) {
    throw new Error(`Choose who may join with --enrollment ${ENROLLMENT_MODES.join('|')} (or "enrollment": { "mode": ... } in the config file).`);
  }
  const fileLabel = (key: keyof CoordinatorOptions, fileKey: string) => (options[key] !== undefined ? label(key) : `${fileKey} of the config file`);
  if (settings.allowlistFile) enrollment.allowlist = [...enrollment.allowlist, ...(await readLines(settings.allowlistFile, fileLabel('allowlist', 'allowlistFile')))];
  if (settings.tokensFile) enrollment.tokens = [...enrollment.tokens, ...(await readLines(settings.tokensFile, fileLabel('tokens', 'tokensFile')))];
  checkEnrollmentSettings(enrollment as EnrollmentSettings);

  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    throw new Error('Give both --tls-cert and --tls-key to serve https, or neither to serve http.');
  }
  const tls =
    settings.tlsCert && settings.tlsKey
      ? { cert: await readText(settings.tlsCert, fileLabel('tlsCert', 'tlsCert')), key: await readText(settings.tlsKey, fileLabel('tlsKey', 'tlsKey')) }
      : null;

  const itemIds = settings.itemIds ?? buildDataset(await loadInteractions(settings.catalog ?? BUILT_IN_DATASETS['ml-latest-small'])).itemIds;
  const { catalog: _catalog, identityFile: _identityFile, tlsCert: _tlsCert, tlsKey: _tlsKey, allowlistFile: _allowlist, tokensFile: _tokens, ...coordinatorSettings } = settings;
  // Checked before the key file is read or created, so that a bad setting leaves no new file behind.
  const config = resolveCoordinatorConfig({
    ...coordinatorSettings,
    itemIds,
    port: settings.port ?? DEFAULT_PORT,
    database: settings.database === undefined ? DEFAULT_DATABASE : settings.database,
    enrollment: { mode: enrollment.mode, allowlist: enrollment.allowlist, tokens: enrollment.tokens },
    tls,
  });
  config.identity = settings.identityFile === null ? createIdentity() : await loadOrCreateIdentityFile(settings.identityFile ?? DEFAULT_IDENTITY_FILE, logger);
  return config;
}

function stopOnSignals(coordinator: Coordinator, logger: Logger): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping the coordinator');
      void coordinator.stop().then(() => process.exit(0));
    });
  }
}

function forwardEvents(coordinator: Coordinator): void {
  const names: Array<keyof CoordinatorEvents> = ['client-registered', 'round-opened', 'upload-accepted', 'upload-rejected', 'round-closed', 'report-received'];
  for (const name of names) {
    coordinator.on(name, (event: object) => sendToParent({ type: name, ...event }));
  }
}

function integer(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`${name} is "${value}"; expected an integer ${range}.`);
  }
  return parsed;
}

/** Reads the config file. The coordinator checks its fields, together with the flags, when it starts. */
async function readSettingsFile(file: string): Promise<CoordinatorFileSettings> {
  const value = await readJsonFile(file, 'config file', '--config');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Invalid config file ${file}: expected one JSON object of coordinator settings.`);
  }
  for (const key of Object.keys(value)) {
    if (SETTING_NAMES.includes(key)) continue;
    const suggestion = closestName(key, SETTING_NAMES);
    throw new Error(
      `Unknown setting "${key}" in the config file ${file}.` +
        (suggestion ? ` Did you mean "${suggestion}"?` : '') +
        ` Known settings: ${SETTING_NAMES.join(', ')}.`,
    );
  }
  return value as CoordinatorFileSettings;
}

/** Names a config file may use: the coordinator's settings and the file-only ones. */
const SETTING_NAMES: readonly string[] = [
  ...Object.keys(DEFAULT_COORDINATOR_CONFIG),
  'itemIds',
  'catalog',
  'identityFile',
  'tlsCert',
  'tlsKey',
  'allowlistFile',
  'tokensFile',
].filter((name) => name !== 'tls');

/** Finds the known name within edit distance 3 of `name`, ignoring case; undefined when none is that close. */
function closestName(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of names) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read ${option} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check the path.`);
  }
}

/** Non-empty lines of a file, without `#` comments. */
async function readLines(file: string, option: string): Promise<string[]> {
  return (await readText(file, option))
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.length > 0);
}
