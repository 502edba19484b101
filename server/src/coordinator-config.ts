// Settings of a coordinator, with defaults and checks that name the bad value.
import { type Exchange, EXCHANGES, type LogitCodecSpec, codecFromSpec, logitUploadBytes } from '@distillate/shared';
import type { Identity } from '@distillate/shared';
import type { Logger } from 'pino';

import { type EnrollmentSettings, checkEnrollmentSettings } from './enrollment.js';
import { AGGREGATION_STRATEGIES, type AggregationParameters, type AggregationStrategyName, createAggregationStrategy } from './aggregation/index.js';

export interface CoordinatorConfig {
  /** Interface to listen on. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The public item catalog: external item id of each item index. */
  itemIds: string[];
  rounds: number;
  /** Rounds start once this many clients have registered. */
  minClients: number;
  /** Clients sent each round's task: a seeded sample of this many connected clients, or every connected client when null. */
  clientsPerRound: number | null;
  /**
   * A fixed schedule instead: for round r, the ids of the clients in roundCohorts[r - 1] (cycling
   * when there are fewer cohorts than rounds), among those connected. Simulations use it to skew
   * participation. Null: no schedule.
   */
  roundCohorts: string[][] | null;
  /** Single-item probes per round. */
  probesPerRound: number;
  /** Candidate items scored for every probe. */
  candidatesPerRound: number;
  /** Share of probes and candidates drawn uniformly from the catalog; the rest follow the popularity estimate. */
  uniformShare: number;
  /** Probes and candidates are drawn in proportion to estimated popularity raised to this power. */
  popularityExponent: number;
  /** Histories users chose to publish, as item indices; they become public-user probes. */
  publicProbes: number[][];
  /** Share of each round's probes drawn from publicProbes, after the first round. */
  publicProbeShare: number;
  /** Most bytes of logits in one upload, in the upload codec; rounds send fewer probes to fit. Null: no budget. */
  uploadByteBudget: number | null;
  /** Payload clients upload: logits on a transfer set, their student's parameters, or item patterns (one round). */
  exchange: Exchange;
  /** Rule that turns the clients' logits into the teacher, when the exchange is logits. */
  aggregation: AggregationStrategyName;
  /** Parameters of the aggregation rule: temperature, trim or evidencePrior. */
  aggregationParameters: AggregationParameters;
  /** Codec of client uploads: float32, float16, int8 or top-k:K. */
  uploadCodec: LogitCodecSpec;
  /** Codec of the teacher, the averaged parameters or the global patterns. */
  teacherCodec: LogitCodecSpec;
  /** Ask clients for their metric sums after every round, to chart learning per round (simulations). */
  roundMetrics: boolean;
  /** Global item patterns of a fedsplit federation. */
  globalPatterns: number;
  seed: number;
  /** Time a round waits for uploads after its task is sent, in milliseconds. */
  roundTimeoutMs: number;
  /**
   * Fewest uploads that make a teacher: a count such as 3, or a share of the round's
   * participants such as "50%". A round with fewer uploads at its deadline fails.
   */
  quorum: number | `${number}%`;
  /** Time added to the deadline of a round resumed after a restart, so that clients can reconnect, in milliseconds. */
  resumeGraceMs: number;
  /** Time the coordinator waits for evaluation reports after the last round, in milliseconds. */
  reportTimeoutMs: number;
  /** Largest binary field of one message, in bytes. Clients split larger uploads into parts. */
  maxMessageBytes: number;
  /** Most bytes one client may send for one round, all messages and parts together. */
  maxUploadBytesPerRound: number;
  /** Messages each connection may send: a sustained rate per second and a burst. */
  rateLimit: { messagesPerSecond: number; burst: number };
  /** Enrollment mode: open, an allowlist of client ids, or one-time tokens. */
  enrollment: EnrollmentSettings;
  /** SQLite file that keeps the federation across restarts; null keeps it in memory only. */
  database: string | null;
  /** PEM certificate chain and private key; with them the coordinator serves https and wss. */
  tls: { cert: string; key: string } | null;
  /** The coordinator's key pairs; a fresh identity when absent. */
  identity?: Identity;
  logger?: Logger;
}

export const DEFAULT_COORDINATOR_CONFIG: Omit<CoordinatorConfig, 'itemIds'> = {
  host: '127.0.0.1',
  port: 0,
  rounds: 10,
  minClients: 2,
  clientsPerRound: null,
  roundCohorts: null,
  probesPerRound: 256,
  candidatesPerRound: 1024,
  uniformShare: 0.25,
  popularityExponent: 1,
  publicProbes: [],
  publicProbeShare: 0.5,
  uploadByteBudget: null,
  exchange: 'logits',
  aggregation: 'mean-probabilities',
  aggregationParameters: {},
  uploadCodec: 'float32',
  teacherCodec: 'float32',
  globalPatterns: 32,
  roundMetrics: false,
  seed: 1,
  roundTimeoutMs: 600_000,
  quorum: 1,
  resumeGraceMs: 60_000,
  reportTimeoutMs: 600_000,
  maxMessageBytes: 16 * 1024 * 1024,
  maxUploadBytesPerRound: 64 * 1024 * 1024,
  rateLimit: { messagesPerSecond: 20, burst: 40 },
  enrollment: { mode: 'open', allowlist: [], tokens: [] },
  database: null,
  tls: null,
};

export function resolveCoordinatorConfig(
  partial: Partial<CoordinatorConfig> & Pick<CoordinatorConfig, 'itemIds'>,
): CoordinatorConfig {
  const config: CoordinatorConfig = { ...DEFAULT_COORDINATOR_CONFIG, ...partial };

  if (config.itemIds.length < 2) {
    throw new Error(`The catalog has ${config.itemIds.length} items; a federation needs at least 2.`);
  }
  requireInteger(config, 'port', 0, 65_535);
  requireInteger(config, 'rounds', 1);
  requireInteger(config, 'minClients', 1);
  if (config.clientsPerRound !== null) requireInteger(config, 'clientsPerRound', 1);
  if (config.roundCohorts !== null && (!Array.isArray(config.roundCohorts) || config.roundCohorts.length === 0 || !config.roundCohorts.every(Array.isArray))) {
    throw new Error('roundCohorts is invalid; expected null or a non-empty list of lists of client ids.');
  }
  requireInteger(config, 'probesPerRound', 1, config.itemIds.length);
  requireInteger(config, 'candidatesPerRound', 2, config.itemIds.length);
  requireInteger(config, 'roundTimeoutMs', 1);
  requireInteger(config, 'reportTimeoutMs', 1);
  requireInteger(config, 'maxMessageBytes', 1024);
  requireInteger(config, 'maxUploadBytesPerRound', config.maxMessageBytes);
  requireInteger(config, 'resumeGraceMs', 0);
  quorumFor(config.quorum, 1);
  const { messagesPerSecond, burst } = config.rateLimit ?? {};
  if (!(typeof messagesPerSecond === 'number' && messagesPerSecond > 0 && Number.isFinite(messagesPerSecond)) || !(Number.isInteger(burst) && burst >= 1)) {
    throw new Error(
      `rateLimit is ${JSON.stringify(config.rateLimit)}; expected { messagesPerSecond: a positive number, burst: an integer of at least 1 }.`,
    );
  }
  if (typeof config.enrollment !== 'object' || config.enrollment === null || Array.isArray(config.enrollment)) {
    throw new Error(`enrollment is ${JSON.stringify(config.enrollment)}; expected an object such as { "mode": "token", "tokens": [...] }.`);
  }
  config.enrollment = { ...DEFAULT_COORDINATOR_CONFIG.enrollment, ...config.enrollment };
  checkEnrollmentSettings(config.enrollment);
  if (config.tls !== null && (typeof config.tls?.cert !== 'string' || typeof config.tls?.key !== 'string')) {
    throw new Error('tls is invalid; expected null or { cert, key } with the PEM text of a certificate chain and its private key.');
  }
  if (!(config.uniformShare >= 0 && config.uniformShare <= 1)) {
    throw new Error(`uniformShare is ${config.uniformShare}; expected a fraction between 0 and 1.`);
  }
  if (!(config.popularityExponent >= 0)) {
    throw new Error(`popularityExponent is ${config.popularityExponent}; expected a number of at least 0.`);
  }
  if (!(config.publicProbeShare >= 0 && config.publicProbeShare <= 1)) {
    throw new Error(`publicProbeShare is ${config.publicProbeShare}; expected a fraction between 0 and 1.`);
  }
  config.publicProbes.forEach((context, index) => {
    const bad = Array.isArray(context) ? context.find((item) => !Number.isInteger(item) || item < 0 || item >= config.itemIds.length) : null;
    if (!Array.isArray(context) || context.length === 0 || bad !== undefined) {
      throw new Error(
        `publicProbes[${index}] is invalid${bad !== undefined && bad !== null ? `: item ${bad} is outside the catalog of ${config.itemIds.length} items` : ''}; ` +
          'expected a non-empty list of item indices.',
      );
    }
  });
  if (config.uploadByteBudget !== null) requireInteger(config, 'uploadByteBudget', 1);
  if (!AGGREGATION_STRATEGIES.includes(config.aggregation)) {
    throw new Error(
      `Unknown aggregation "${config.aggregation}"; expected one of ${AGGREGATION_STRATEGIES.join(', ')}.`,
    );
  }

  // Building the rule checks its parameters and names a bad one.
  createAggregationStrategy(config.aggregation, config.aggregationParameters);
  if (!EXCHANGES.includes(config.exchange)) {
    throw new Error(`Unknown exchange "${config.exchange}"; expected one of ${EXCHANGES.join(', ')}.`);
  }
  if (config.exchange === 'item-patterns' && config.rounds !== 1) {
    throw new Error(`rounds is ${config.rounds}, but item patterns are exchanged once; set rounds to 1.`);
  }
  requireInteger(config, 'globalPatterns', 1);
  for (const key of ['uploadCodec', 'teacherCodec'] as const) {
    try {
      codecFromSpec(config[key]);
    } catch (error) {
      throw new Error(`${key}: ${(error as Error).message}`);
    }
    // Parameters and patterns travel as one matrix, where top-k would keep K values of the whole.
    if (config.exchange !== 'logits' && String(config[key]).startsWith('top-k')) {
      throw new Error(
        `${key} is "${config[key]}", but top-k suits logits on a transfer set only; the ${config.exchange} exchange ` +
          'needs float32, float16 or int8.',
      );
    }
  }
  if (config.exchange !== 'logits') return config;

  if (config.uploadByteBudget !== null) {
    const oneProbe = codecFromSpec(config.uploadCodec).encodedBytes({ probes: 1, candidates: config.candidatesPerRound });
    if (oneProbe > config.uploadByteBudget) {
      throw new Error(
        `uploadByteBudget is ${config.uploadByteBudget} bytes, less than the ${oneProbe} bytes of one probe's logits ` +
          `for ${config.candidatesPerRound} candidates in ${config.uploadCodec}. Raise the budget, or lower candidatesPerRound.`,
      );
    }
  }

  // The first round scores the whole catalog with fewer probes: its evidence is one count per item.
  const shape = { probes: config.probesPerRound, candidates: config.candidatesPerRound };
  const uploadBytes = logitUploadBytes(shape, codecFromSpec(config.uploadCodec)) + config.itemIds.length * 4 + 1024;
  if (uploadBytes > config.maxUploadBytesPerRound) {
    throw new Error(
      `An upload of ${config.probesPerRound} probes × ${config.candidatesPerRound} candidates ` +
        `needs about ${uploadBytes} bytes, more than maxUploadBytesPerRound (${config.maxUploadBytesPerRound}). ` +
        'Lower the probes or candidates per round, choose a smaller uploadCodec, or raise maxUploadBytesPerRound.',
    );
  }
  return config;
}

function requireInteger(config: CoordinatorConfig, key: keyof CoordinatorConfig, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const value = config[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
    const shown = typeof value === 'number' ? String(value) : `${JSON.stringify(value)} (a ${value === null ? 'null' : typeof value})`;
    throw new Error(`${key} is ${shown}; expected an integer ${range}.`);
  }
}

/**
 * Fewest uploads a round of `participants` clients needs under `quorum`: the count itself, or the
 * share rounded up. Throws on a quorum that is neither.
 */
export function quorumFor(quorum: number | string, participants: number): number {
  if (typeof quorum === 'number' && Number.isInteger(quorum) && quorum >= 1) return quorum;
  const share = typeof quorum === 'string' && /^\d+(\.\d+)?%$/.test(quorum) ? Number(quorum.slice(0, -1)) : NaN;
  if (share > 0 && share <= 100) return Math.max(1, Math.ceil((share / 100) * participants));
  throw new Error(`quorum is ${JSON.stringify(quorum)}; expected a count of at least 1, such as 3, or a share of the participants, such as "50%".`);
}
