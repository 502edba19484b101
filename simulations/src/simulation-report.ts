// The report of a simulation: report.json for programs, report.md for people, and two SVG charts
// (NDCG@10 per round, NDCG@10 against bytes per client), all in the simulation's folder.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { RoundSummary } from '@distillate/server';
import { type EvaluationSums, type MetricMeans, metricMeans } from '@distillate/shared';

import { formatBytes } from './report.js';
import { type ReferenceLine, type RoundSeries, ndcgAgainstBytesChart, ndcgPerRoundChart } from './report-charts.js';
import type { ScenarioRun } from './scenario.js';

/** One point per round: the clients' test NDCG@10 and the bytes one client exchanged up to that round. */
export interface RoundPoint {
  round: number;
  ndcg10: number;
  /** Mean bytes per client of the round's upload and of the payload sent back (encrypted, without socket.io framing). */
  uploadBytesPerClient: number;
  downloadBytesPerClient: number;
  cumulativeBytesPerClient: number;
}

export interface RunResult {
  run: string;
  algorithm: string;
  description: string;
  full: MetricMeans;
  sampled: MetricMeans;
  validation: { full: MetricMeans; sampled: MetricMeans };
  finalStudentValidation?: { full: MetricMeans; sampled: MetricMeans };
  /** Mean over clients of everything each sent and received over socket.io, or null for references. */
  bytesSentPerClient: number | null;
  bytesReceivedPerClient: number | null;
  /** Per round, for federated runs. */
  series?: RoundPoint[];
  /** Wall time of the federation, from the coordinator's start to the last report, for federated runs. */
  federationSeconds?: number;
  /** Peak resident memory of the largest client host process, for runs whose clients ran in a pool. */
  peakClientHostBytes?: number;
}

export interface SimulationReport {
  scenario: string;
  description: string | null;
  createdAt: string;
  durationSeconds: number;
  command: string;
  /** evaluatedUsers counts the private users with a test item; public users are never evaluated. */
  dataset: { path: string; users: number; items: number; interactions: number; evaluatedUsers: number; publicUsers: number };
  partition: { setting: string; clients: number; assignment: string; concentration: number; participation: number; usersPerClient: number[] };
  seed: number;
  rounds: number;
  results: RunResult[];
  runs: Array<ScenarioRun & { rounds: RoundSummary[] }>;
}

export function runResult(
  run: string,
  algorithm: string,
  description: string,
  sums: { test: EvaluationSums; validation: EvaluationSums; finalStudentValidation?: EvaluationSums },
  bytes: { sent: number; received: number } | null = null,
): RunResult {
  const means = (evaluation: EvaluationSums) => ({ full: metricMeans(evaluation.full), sampled: metricMeans(evaluation.sampled) });
  return {
    run,
    algorithm,
    description,
    full: metricMeans(sums.test.full),
    sampled: metricMeans(sums.test.sampled),
    validation: means(sums.validation),
    ...(sums.finalStudentValidation ? { finalStudentValidation: means(sums.finalStudentValidation) } : {}),
    bytesSentPerClient: bytes?.sent ?? null,
    bytesReceivedPerClient: bytes?.received ?? null,
  };
}

/** Builds the per-round points of a federated run from the coordinator's round summaries. */
export function roundSeries(rounds: readonly RoundSummary[]): RoundPoint[] {
  let cumulative = 0;
  return rounds.flatMap((round) => {
    if (round.uploads === 0) return [];
    const uploadBytesPerClient = round.uploadBytes / round.uploads;
    cumulative += uploadBytesPerClient + round.teacherBytes;
    if (round.metrics === null) return [];
    return [
      {
        round: round.roundId,
        ndcg10: metricMeans(round.metrics.test.full).ndcg[10],
        uploadBytesPerClient,
        downloadBytesPerClient: round.teacherBytes,
        cumulativeBytesPerClient: cumulative,
      },
    ];
  });
}

/** Mean bytes per client per round, both ways, or null for a reference. */
export function bytesPerRound(result: RunResult): number | null {
  if (!result.series || result.series.length === 0) return null;
  const total = result.series.reduce((sum, point) => sum + point.uploadBytesPerClient + point.downloadBytesPerClient, 0);
  return total / result.series.length;
}

export function formatSimulationTable(results: readonly RunResult[]): string {
  const header =
    '| run | algorithm | HR@10 full | NDCG@10 full | HR@10 sampled | NDCG@10 sampled | per client per round | sent per client | received per client |\n' +
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map((result) =>
    [
      result.run,
      result.algorithm,
      result.full.hitRate[10].toFixed(4),
      result.full.ndcg[10].toFixed(4),
      result.sampled.hitRate[10].toFixed(4),
      result.sampled.ndcg[10].toFixed(4),
      formatBytes(bytesPerRound(result)),
      formatBytes(result.bytesSentPerClient),
      formatBytes(result.bytesReceivedPerClient),
    ].join(' | '),
  );
  return [header, ...rows.map((row) => `| ${row} |`)].join('\n');
}

/** Writes report.json, report.md and the charts; returns their paths. */
export async function writeSimulationReport(directory: string, report: SimulationReport): Promise<string[]> {
  const series: RoundSeries[] = report.results.flatMap((result) =>
    result.series && result.series.length > 0 ? [{ run: result.run, points: result.series }] : [],
  );
  const references: ReferenceLine[] = report.results
    .filter((result) => !result.series)
    .map((result) => ({ run: result.run, ndcg10: result.full.ndcg[10] }));

  const files = {
    json: path.join(directory, 'report.json'),
    markdown: path.join(directory, 'report.md'),
    perRound: path.join(directory, 'ndcg-per-round.svg'),
    perByte: path.join(directory, 'ndcg-vs-bytes.svg'),
  };
  await writeFile(files.json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(files.markdown, formatSimulationMarkdown(report));
  await writeFile(files.perRound, await ndcgPerRoundChart(series, references, `${report.scenario}: NDCG@10 per round`));
  await writeFile(files.perByte, await ndcgAgainstBytesChart(series, references, `${report.scenario}: NDCG@10 against bytes per client`));
  return Object.values(files);
}

function formatShare(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

function formatSimulationMarkdown(report: SimulationReport): string {
  const { partition, dataset } = report;
  return [
    `# Simulation: ${report.scenario}`,
    '',
    ...(report.description ? [report.description, ''] : []),
    `Created ${report.createdAt}, in ${report.durationSeconds.toFixed(0)} s, by \`${report.command}\`.`,
    '',
    `Dataset: ${dataset.path}: ${dataset.users} users, ${dataset.items} items, ${dataset.interactions} interactions; ` +
      `${dataset.publicUsers} users made public (their histories are probes; they are not evaluated); ` +
      `${dataset.evaluatedUsers} private users have a test item. Seed ${report.seed}, ${report.rounds} rounds.`,
    partition.setting === 'cross-silo'
      ? `Clients: ${partition.clients} (cross-silo, ${partition.assignment} assignment, concentration ${partition.concentration}); ` +
        `users per client: ${partition.usersPerClient.join(', ')}; ${formatShare(partition.participation)} of them per round.`
      : `Clients: ${partition.clients}, one per private user (cross-device); ${formatShare(partition.participation)} of them per round, ` +
        `drawn ${partition.assignment === 'iid' ? 'uniformly' : `with Dirichlet(${partition.concentration}) skew over activity levels`}. ` +
        'Per-round metrics cover the clients of that round.',
    '',
    'Leave-one-out test items. Full ranking ranks the held-out item against every item the user has not interacted with; ' +
      'the sampled protocol ranks it against 99 sampled unseen items. "Per client per round" is the encrypted upload plus ' +
      'the encrypted payload sent back, averaged over rounds; "sent" and "received" count every socket.io message of the run.',
    '',
    formatSimulationTable(report.results),
    '',
    ...report.results.map((result) => `- \`${result.run}\` (${result.algorithm}): ${result.description}`),
    '',
    ...report.results.flatMap((result) =>
      result.federationSeconds === undefined
        ? []
        : [
            `- \`${result.run}\`: the federation took ${result.federationSeconds.toFixed(0)} s` +
              (result.peakClientHostBytes === undefined ? '.' : `; the largest client host peaked at ${formatBytes(result.peakClientHostBytes)} of resident memory.`),
          ],
    ),
    '',
    '![NDCG@10 per round](ndcg-per-round.svg)',
    '',
    '![NDCG@10 against bytes per client](ndcg-vs-bytes.svg)',
    '',
  ].join('\n');
}
