// The report of a run: report.json for programs and report.md for people, both in the run folder.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { type EvaluationSums, type MetricMeans, metricMeans } from '@distillate/shared';

export type MethodName = 'popularity' | 'local' | 'fedpdd' | 'central';

export interface MethodResult {
  method: MethodName;
  description: string;
  /** Test metrics under full ranking and under the sampled protocol. */
  full: MetricMeans;
  sampled: MetricMeans;
  /** The same metrics on the validation items, the ones to compare when tuning settings. */
  validation: { full: MetricMeans; sampled: MetricMeans };
  /**
   * Validation metrics of each client's final student, for fedpdd only. Its `validation` metrics
   * read high because they evaluate the best past student, which was picked on those same items.
   */
  finalStudentValidation?: { full: MetricMeans; sampled: MetricMeans };
  /** Mean over clients of the bytes each sent; null for references that exchange nothing. */
  bytesSentPerClient: number | null;
  bytesReceivedPerClient: number | null;
}

export interface RunReport {
  createdAt: string;
  durationSeconds: number;
  command: string;
  dataset: { path: string; users: number; items: number; interactions: number; evaluatedUsers: number };
  settings: Record<string, unknown>;
  partition: { scheme: string; concentration: number; usersPerClient: number[] };
  results: MethodResult[];
  /** (fedpdd − local) / (central − local) on NDCG@10 under full ranking. */
  gapClosedFullNdcg10: number | null;
  rounds: unknown[];
  clients: unknown[];
}

export function methodResult(
  method: MethodName,
  description: string,
  sums: { test: EvaluationSums; validation: EvaluationSums; finalStudentValidation?: EvaluationSums },
  bytes: { sent: number; received: number } | null = null,
): MethodResult {
  const means = (evaluation: EvaluationSums) => ({ full: metricMeans(evaluation.full), sampled: metricMeans(evaluation.sampled) });
  return {
    method,
    description,
    full: metricMeans(sums.test.full),
    sampled: metricMeans(sums.test.sampled),
    validation: means(sums.validation),
    ...(sums.finalStudentValidation ? { finalStudentValidation: means(sums.finalStudentValidation) } : {}),
    bytesSentPerClient: bytes?.sent ?? null,
    bytesReceivedPerClient: bytes?.received ?? null,
  };
}

export function gapClosed(results: readonly MethodResult[]): number | null {
  const ndcg = (name: MethodName) => results.find((result) => result.method === name)?.full.ndcg[10];
  const local = ndcg('local');
  const central = ndcg('central');
  const fedpdd = ndcg('fedpdd');
  if (local === undefined || central === undefined || fedpdd === undefined || central === local) return null;
  return (fedpdd - local) / (central - local);
}

/** The results as a Markdown table. */
export function formatResultsTable(results: readonly MethodResult[]): string {
  const header =
    '| method | HR@10 full | NDCG@10 full | HR@10 sampled | NDCG@10 sampled | MRR full | sent per client | received per client |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map((result) =>
    [
      result.method,
      result.full.hitRate[10].toFixed(4),
      result.full.ndcg[10].toFixed(4),
      result.sampled.hitRate[10].toFixed(4),
      result.sampled.ndcg[10].toFixed(4),
      result.full.mrr.toFixed(4),
      formatBytes(result.bytesSentPerClient),
      formatBytes(result.bytesReceivedPerClient),
    ].join(' | '),
  );
  return [header, ...rows.map((row) => `| ${row} |`)].join('\n');
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export async function writeReport(runDirectory: string, report: RunReport): Promise<{ json: string; markdown: string }> {
  const json = path.join(runDirectory, 'report.json');
  const markdown = path.join(runDirectory, 'report.md');
  await writeFile(json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(markdown, formatMarkdown(report));
  return { json, markdown };
}

function formatMarkdown(report: RunReport): string {
  const gap = report.gapClosedFullNdcg10;
  const lines = [
    '# Distillate run report',
    '',
    `Created ${report.createdAt}, in ${report.durationSeconds.toFixed(0)} s, by \`${report.command}\`.`,
    '',
    `Dataset: ${report.dataset.path}: ${report.dataset.users} users, ${report.dataset.items} items, ` +
      `${report.dataset.interactions} interactions; ${report.dataset.evaluatedUsers} users have a test item.`,
    `Clients: ${report.partition.usersPerClient.length} (${report.partition.scheme} partition, concentration ` +
      `${report.partition.concentration}); users per client: ${report.partition.usersPerClient.join(', ')}.`,
    '',
    'Leave-one-out test items. Full ranking ranks the held-out item against every item the user has not ' +
      'interacted with; the sampled protocol ranks it against 99 sampled unseen items.',
    '',
    formatResultsTable(report.results),
    '',
    ...report.results.map((result) => `- \`${result.method}\`: ${result.description}`),
    '',
    gap === null
      ? 'Gap closed by fedpdd: undefined (local and central tie, or a method is missing).'
      : `fedpdd closes ${(gap * 100).toFixed(1)}% of the gap between local and central on NDCG@10 under full ranking.`,
    '',
  ];
  return lines.join('\n');
}
