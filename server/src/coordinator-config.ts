// Settings of a coordinator, with defaults and checks that name the bad value.
import type { Identity } from '@distillate/shared';
import type { Logger } from 'pino';

import { AGGREGATION_STRATEGIES, type AggregationStrategyName } from './aggregation/index.js';

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
  /** Single-item probes per round. */
  probesPerRound: number;
  /** Candidate items scored for every probe. */
  candidatesPerRound: number;
  /** Share of probes and candidates drawn uniformly from the catalog; the rest follow the popularity estimate. */
  uniformShare: number;
  /** Probes and candidates are drawn in proportion to estimated popularity raised to this power. */
  popularityExponent: number;
  aggregation: AggregationStrategyName;
  seed: number;
  /** Time a round waits for uploads after its task is sent, in milliseconds. */
  roundTimeoutMs: number;
  /** Time the coordinator waits for evaluation reports after the last round, in milliseconds. */
  reportTimeoutMs: number;
  /** Largest socket.io message accepted, in bytes. */
  maxMessageBytes: number;
  /** The coordinator's key pairs; a fresh identity when absent. */
  identity?: Identity;
  logger?: Logger;
}

export const DEFAULT_COORDINATOR_CONFIG: Omit<CoordinatorConfig, 'itemIds'> = {
  host: '127.0.0.1',
  port: 0,
  rounds: 10,
  minClients: 2,
  probesPerRound: 256,
  candidatesPerRound: 1024,
  uniformShare: 0.25,
  popularityExponent: 1,
  aggregation: 'mean-probabilities',
  seed: 1,
  roundTimeoutMs: 600_000,
  reportTimeoutMs: 600_000,
  maxMessageBytes: 16 * 1024 * 1024,
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
  requireInteger(config, 'probesPerRound', 1, config.itemIds.length);
  requireInteger(config, 'candidatesPerRound', 2, config.itemIds.length);
  requireInteger(config, 'roundTimeoutMs', 1);
  requireInteger(config, 'reportTimeoutMs', 1);
  requireInteger(config, 'maxMessageBytes', 1024);
  if (!(config.uniformShare >= 0 && config.uniformShare <= 1)) {
    throw new Error(`uniformShare is ${config.uniformShare}; expected a fraction between 0 and 1.`);
  }
  if (!(config.popularityExponent >= 0)) {
    throw new Error(`popularityExponent is ${config.popularityExponent}; expected a number of at least 0.`);
  }
  if (!AGGREGATION_STRATEGIES.includes(config.aggregation)) {
    throw new Error(
      `Unknown aggregation "${config.aggregation}"; expected one of ${AGGREGATION_STRATEGIES.join(', ')}.`,
    );
  }

  const uploadBytes = (config.probesPerRound + 1) * (config.candidatesPerRound + 1) * 4 + 1024;
  if (uploadBytes > config.maxMessageBytes) {
    throw new Error(
      `An upload of ${config.probesPerRound} probes × ${config.candidatesPerRound} candidates ` +
        `needs about ${uploadBytes} bytes, more than maxMessageBytes (${config.maxMessageBytes}). ` +
        'Lower the probes or candidates per round, or raise maxMessageBytes.',
    );
  }
  return config;
}

function requireInteger(config: CoordinatorConfig, key: keyof CoordinatorConfig, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const value = config[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`${key} is ${String(value)}; expected an integer ${range}.`);
  }
}
