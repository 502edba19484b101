import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

import { CoordinatorMetrics, mountMetricsEndpoint } from '../src/coordinator-metrics.js';
import type { RoundSummary } from '../src/federation-round.js';

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function roundSummary(overrides: Partial<RoundSummary>): RoundSummary {
  return {
    roundId: 1,
    state: 'closed',
    participants: 3,
    quorum: 1,
    uploads: 3,
    rejectedUploads: 0,
    probes: 10,
    candidates: 100,
    uploadBytes: 3000,
    teacherBytes: 1200,
    aggregationMs: 0,
    durationMs: 0,
    failure: null,
    metricReports: 0,
    metrics: null,
    ...overrides,
  };
}

/** Renders `metrics` and returns its sample lines, without HELP, TYPE and blank lines. */
async function sampleLines(metrics: CoordinatorMetrics): Promise<string[]> {
  const text = await metrics.render();
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('CoordinatorMetrics', () => {
  it('starts every series at zero', async () => {
    const lines = await sampleLines(new CoordinatorMetrics());

    for (const method of ['open', 'allowlist', 'token', 'known']) {
      expect(lines).toContain(`distillate_clients_enrolled_total{method="${method}"} 0`);
    }
    expect(lines).toContain('distillate_rounds_closed_total{outcome="teacher"} 0');
    expect(lines).toContain('distillate_rounds_closed_total{outcome="failed"} 0');
    expect(lines).toContain('distillate_rounds_opened_total 0');
    expect(lines).toContain('distillate_round_current 0');
    expect(lines).toContain('distillate_uploads_accepted_total 0');
    expect(lines).toContain('distillate_upload_bytes_total 0');
    expect(lines).toContain('distillate_teacher_bytes_total 0');
    expect(lines).toContain('distillate_aggregation_duration_seconds_count 0');
    expect(lines).toContain('distillate_round_duration_seconds_count 0');
  });

  it('includes the default process metrics', async () => {
    const metrics = new CoordinatorMetrics();
    const text = await metrics.render();

    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(metrics.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
  });

  it('sets the client gauges', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.setClients(4, 6);
    metrics.setClients(3, 6);
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_clients_connected 3');
    expect(lines).toContain('distillate_clients_registered 6');
  });

  it('counts enrollments by method', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.clientEnrolled('token');
    metrics.clientEnrolled('token');
    metrics.clientEnrolled('known');
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_clients_enrolled_total{method="token"} 2');
    expect(lines).toContain('distillate_clients_enrolled_total{method="known"} 1');
    expect(lines).toContain('distillate_clients_enrolled_total{method="open"} 0');
  });

  it('tracks the latest round and its uploads', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundOpened(1, 5);
    metrics.roundOpened(2, 4);
    metrics.uploadAccepted(2, 1000, 1);
    metrics.uploadAccepted(2, 1500, 2);
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_rounds_opened_total 2');
    expect(lines).toContain('distillate_round_current 2');
    expect(lines).toContain('distillate_round_participants 4');
    expect(lines).toContain('distillate_round_uploads 2');
    expect(lines).toContain('distillate_uploads_accepted_total 2');
    expect(lines).toContain('distillate_upload_bytes_total 2500');
  });

  it('resets round uploads when a round opens', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundOpened(1, 2);
    metrics.uploadAccepted(1, 800, 2);
    metrics.roundOpened(2, 2);
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_round_uploads 0');
    expect(lines).toContain('distillate_uploads_accepted_total 1');
  });

  it('counts a stale upload without touching round uploads', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundOpened(3, 4);
    metrics.uploadAccepted(3, 1000, 1);
    metrics.uploadAccepted(2, 700, 4);
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_round_uploads 1');
    expect(lines).toContain('distillate_uploads_accepted_total 2');
    expect(lines).toContain('distillate_upload_bytes_total 1700');
  });

  it('counts rejections by event and reason', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.messageRejected('upload', 'replay');
    metrics.messageRejected('upload', 'too-large');
    metrics.messageRejected('upload', 'too-large');
    metrics.messageRejected('register', 'protocol-version');
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_messages_rejected_total{event="upload",reason="replay"} 1');
    expect(lines).toContain('distillate_messages_rejected_total{event="upload",reason="too-large"} 2');
    expect(lines).toContain('distillate_messages_rejected_total{event="register",reason="protocol-version"} 1');
  });

  it('counts teacher bytes once per recipient', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.teacherSent(1200, 3);
    metrics.teacherSent(500, 1);
    metrics.teacherSent(900, 0);
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_teacher_bytes_total 4100');
  });

  it('records a round that produced a teacher', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundClosed(roundSummary({ aggregationMs: 12, durationMs: 4500 }));
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_rounds_closed_total{outcome="teacher"} 1');
    expect(lines).toContain('distillate_rounds_closed_total{outcome="failed"} 0');

    expect(lines).toContain('distillate_aggregation_duration_seconds_bucket{le="0.01"} 0');
    expect(lines).toContain('distillate_aggregation_duration_seconds_bucket{le="0.025"} 1');
    expect(lines).toContain('distillate_aggregation_duration_seconds_bucket{le="+Inf"} 1');
    expect(lines).toContain('distillate_aggregation_duration_seconds_sum 0.012');
    expect(lines).toContain('distillate_aggregation_duration_seconds_count 1');

    expect(lines).toContain('distillate_round_duration_seconds_bucket{le="2.5"} 0');
    expect(lines).toContain('distillate_round_duration_seconds_bucket{le="5"} 1');
    expect(lines).toContain('distillate_round_duration_seconds_sum 4.5');
    expect(lines).toContain('distillate_round_duration_seconds_count 1');
  });

  it('records a failed round without aggregation time', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundClosed(roundSummary({ aggregationMs: 12, durationMs: 4500 }));
    metrics.roundClosed(roundSummary({ roundId: 2, uploads: 0, failure: 'no client uploaded before the deadline', durationMs: 600_000 }));
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_rounds_closed_total{outcome="teacher"} 1');
    expect(lines).toContain('distillate_rounds_closed_total{outcome="failed"} 1');
    expect(lines).toContain('distillate_aggregation_duration_seconds_count 1');
    expect(lines).toContain('distillate_round_duration_seconds_bucket{le="300"} 1');
    expect(lines).toContain('distillate_round_duration_seconds_bucket{le="600"} 2');
    expect(lines).toContain('distillate_round_duration_seconds_sum 604.5');
    expect(lines).toContain('distillate_round_duration_seconds_count 2');
  });

  it('records a negative round duration as zero', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.roundClosed(roundSummary({ aggregationMs: 5, durationMs: -250 }));
    const lines = await sampleLines(metrics);

    expect(lines).toContain('distillate_round_duration_seconds_bucket{le="0.5"} 1');
    expect(lines).toContain('distillate_round_duration_seconds_sum 0');
  });

  it('rejects counts that are negative or not finite', () => {
    const metrics = new CoordinatorMetrics();

    expect(() => metrics.setClients(-1, 0)).toThrow('connected must be a non-negative finite number, got -1.');
    expect(() => metrics.setClients(0, Number.NaN)).toThrow('registered must be a non-negative finite number, got NaN.');
    expect(() => metrics.roundOpened(Number.POSITIVE_INFINITY, 1)).toThrow('roundId must be a non-negative finite number, got Infinity.');
    expect(() => metrics.uploadAccepted(1, -10, 1)).toThrow('bytes must be a non-negative finite number, got -10.');
    expect(() => metrics.teacherSent(100, -2)).toThrow('recipients must be a non-negative finite number, got -2.');
    expect(() => metrics.roundClosed(roundSummary({ durationMs: Number.NaN }))).toThrow(
      'durationMs must be a finite number of milliseconds, got NaN.',
    );
  });

  it('keeps separate counters per instance', async () => {
    const first = new CoordinatorMetrics();
    const second = new CoordinatorMetrics();
    first.messageRejected('upload', 'replay');
    first.uploadAccepted(1, 1000, 1);
    second.uploadAccepted(1, 50, 1);

    const firstLines = await sampleLines(first);
    const secondLines = await sampleLines(second);

    expect(firstLines).toContain('distillate_messages_rejected_total{event="upload",reason="replay"} 1');
    expect(secondLines.filter((line) => line.startsWith('distillate_messages_rejected_total'))).toEqual([]);
    expect(firstLines).toContain('distillate_upload_bytes_total 1000');
    expect(secondLines).toContain('distillate_upload_bytes_total 50');
  });
});

describe('mountMetricsEndpoint', () => {
  const servers: Server[] = [];

  afterEach(async () => {
    for (const server of servers.splice(0)) {
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    }
  });

  /** Serves `metrics` at /metrics on an ephemeral port of 127.0.0.1 and returns the endpoint URL. */
  async function serve(metrics: CoordinatorMetrics): Promise<string> {
    const app = express();
    mountMetricsEndpoint(app, metrics);
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/metrics`;
  }

  it('serves the Prometheus text format', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.messageRejected('upload', 'replay');
    const url = await serve(metrics);

    const response = await fetch(url);
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(body.split('\n')).toContain('distillate_messages_rejected_total{event="upload",reason="replay"} 1');
  });

  it('responds 500 when rendering fails', async () => {
    class FailingMetrics extends CoordinatorMetrics {
      override async render(): Promise<string> {
        throw new Error('rendering failed');
      }
    }
    const url = await serve(new FailingMetrics());

    const response = await fetch(url);
    await response.body?.cancel();

    expect(response.status).toBe(500);
  });
});
