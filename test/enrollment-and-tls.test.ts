// Real federations on 127.0.0.1 that exercise how clients reach and join a coordinator: https and
// wss with a self-signed certificate, allowlist enrollment, and one-time enrollment tokens that
// survive a restart of the coordinator on its SQLite database. Every client runs a real FedPDD
// learner on a few users of ml-latest-small, so each federation takes a few seconds.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { FederationClient, type FederationClientOptions, createLearner } from '@distillate/client';
import { Coordinator, type CoordinatorConfig, resolveCoordinatorConfig } from '@distillate/server';
import {
  BUILT_IN_DATASETS,
  type EvaluationReport,
  type InteractionTable,
  buildDataset,
  clientIdFor,
  createIdentity,
  loadInteractions,
  rowsByUser,
  selectUsers,
} from '@distillate/shared';
import pino, { type Logger } from 'pino';
import { generate as generateCertificate } from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SMALL_COORDINATOR_SETTINGS, SMALL_FEDPDD_SETTINGS } from './small-federation-settings.js';

const BIN = fileURLToPath(new URL('../simulations/bin/distillate.mjs', import.meta.url));
const USERS_PER_CLIENT = 12;
const silentLogger = pino({ level: 'silent' });

/** The ml-latest-small catalog, and the interactions of each client's users: client k gets users 12k to 12k + 11. */
let itemIds: string[];
let clientTables: InteractionTable[];

beforeAll(async () => {
  const table = await loadInteractions(BUILT_IN_DATASETS['ml-latest-small']);
  const dataset = buildDataset(table);
  itemIds = dataset.itemIds;
  const index = rowsByUser(table);
  clientTables = [0, 1, 2].map((client) => {
    const userIds = dataset.users.slice(client * USERS_PER_CLIENT, (client + 1) * USERS_PER_CLIENT).map((user) => user.userId);
    return selectUsers(table, userIds, index);
  });
});

/** Coordinators and clients of the running test, stopped after it whether it passed or not. */
const coordinators: Coordinator[] = [];
const clients: FederationClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const coordinator of coordinators.splice(0)) await coordinator.stop();
});

/** Starts a coordinator on 127.0.0.1 and a free port that runs one small round once 2 clients are connected. */
async function startCoordinator(config: Partial<CoordinatorConfig>): Promise<Coordinator> {
  const coordinator = new Coordinator({
    ...SMALL_COORDINATOR_SETTINGS,
    itemIds,
    host: '127.0.0.1',
    port: 0,
    rounds: 1,
    minClients: 2,
    roundTimeoutMs: 30_000,
    reportTimeoutMs: 30_000,
    logger: silentLogger,
    ...config,
  });
  coordinators.push(coordinator);
  await coordinator.start();
  return coordinator;
}

interface TestClient {
  client: FederationClient;
  /** Errors the client emitted as 'error' events; empty when created with `listenForErrors: false`. */
  errors: Error[];
}

type TestClientOptions = Omit<FederationClientOptions, 'learner' | 'logger'> & { logger?: Logger; listenForErrors?: boolean };

/** Creates a client with a FedPDD learner on the users of `clientTables[data]`; it does not connect yet. */
function createClient(data: number, { listenForErrors = true, ...options }: TestClientOptions): TestClient {
  const learner = createLearner('fedpdd', clientTables[data], { ...SMALL_FEDPDD_SETTINGS, seed: data + 1 });
  const client = new FederationClient({ logger: silentLogger, ...options, learner });
  const errors: Error[] = [];
  if (listenForErrors) client.on('error', (error) => errors.push(error));
  clients.push(client);
  return { client, errors };
}

/** Connects and waits for the report the coordinator accepted; resolves with the client id and the report. */
async function takePart({ client }: TestClient): Promise<{ clientId: string; report: EvaluationReport }> {
  const [clientId, report] = await Promise.all([client.connect(), client.finished()]);
  return { clientId, report };
}

/** Creates a pino logger that parses each line into `lines`, so that a test can check what a client logged. */
function capturingLogger(lines: Array<{ msg: string; err?: string }>): Logger {
  return pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await delay(20);
  }
}

/** GET over https that trusts only `ca` when given; resolves with the status and the body. */
function httpsGet(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Value of one series in a Prometheus text exposition, such as `name{label="value"}`; undefined when absent. */
function metricValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function expectOneCompleteRound(coordinator: Coordinator, participants: number): void {
  const rounds = coordinator.roundSummaries();
  expect(rounds).toHaveLength(1);
  expect(rounds[0]).toMatchObject({ roundId: 1, state: 'closed', participants, uploads: participants, rejectedUploads: 0, failure: null });
}

describe('TLS', () => {
  it('federates over https with a self-signed certificate', async () => {
    const certificate = await generateCertificate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const coordinator = await startCoordinator({ tls: { cert: certificate.cert, key: certificate.private }, enrollment: { mode: 'open', allowlist: [], tokens: [] } });
    expect(coordinator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const health = await httpsGet(`${coordinator.url}/healthz`, certificate.cert);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true });
    await expect(httpsGet(`${coordinator.url}/healthz`)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });

    // A client that does not trust the certificate keeps retrying and never registers.
    const untrustingLog: Array<{ msg: string; err?: string }> = [];
    const untrusting = createClient(2, { url: coordinator.url, identity: createIdentity(), logger: capturingLogger(untrustingLog) });
    void untrusting.client.connect();
    await waitFor(() => untrustingLog.some((line) => line.msg.startsWith('failed to connect to the coordinator')), 10_000, 'a logged connection failure');
    expect(coordinator.status().clientsRegistered).toBe(0);
    untrusting.client.close();
    expect(untrusting.errors).toEqual([]);

    const trusting = [0, 1].map((data) =>
      createClient(data, { url: coordinator.url, identity: createIdentity(), ca: certificate.cert, coordinatorFingerprint: coordinator.fingerprint }),
    );
    const outcomes = await Promise.all(trusting.map(takePart));
    const results = await coordinator.results();

    expectOneCompleteRound(coordinator, 2);
    expect(Object.keys(results.reports).sort()).toEqual(outcomes.map((outcome) => outcome.clientId).sort());
    for (const { report } of outcomes) expect(report.test.full.users).toBe(USERS_PER_CLIENT);
    expect(results.test.full.users).toBe(2 * USERS_PER_CLIENT);
    expect(coordinator.status().clientsRegistered).toBe(2);
  });
});

describe('allowlist enrollment', () => {
  it('admits listed clients and rejects an unlisted one', async () => {
    const listed = [createIdentity(), createIdentity()];
    const allowlist = listed.map((identity) => clientIdFor(identity.signing.publicKey));
    const coordinator = await startCoordinator({ enrollment: { mode: 'allowlist', allowlist, tokens: [] } });
    const [first, second] = listed.map((identity, data) => createClient(data, { url: coordinator.url, identity }));

    // The unlisted client tries while the first listed client is registered and waits for the second one.
    const firstOutcome = takePart(first);
    await waitFor(() => coordinator.status().clientsRegistered === 1, 10_000, 'the first listed client to register');
    const unlistedIdentity = createIdentity();
    const unlistedId = clientIdFor(unlistedIdentity.signing.publicKey);
    const unlisted = createClient(2, { url: coordinator.url, identity: unlistedIdentity });
    const rejection = unlisted.client.connect();
    await expect(rejection).rejects.toThrow("not on this coordinator's allowlist");
    await expect(rejection).rejects.toThrow('Registration rejected (not-enrolled)');
    await expect(rejection).rejects.toThrow(unlistedId);
    expect(unlisted.errors).toHaveLength(1);

    const outcomes = await Promise.all([firstOutcome, takePart(second)]);
    const results = await coordinator.results();

    expect(outcomes.map((outcome) => outcome.clientId).sort()).toEqual([...allowlist].sort());
    expectOneCompleteRound(coordinator, 2);
    expect(Object.keys(results.reports).sort()).toEqual([...allowlist].sort());
    expect(coordinator.status().clientsRegistered).toBe(2);

    const audit = coordinator.auditLog();
    const enrolled = audit.filter((entry) => entry.event === 'client-enrolled');
    expect(enrolled.map((entry) => entry.clientId).sort()).toEqual([...allowlist].sort());
    expect(enrolled.map((entry) => entry.detail)).toEqual([{ method: 'allowlist' }, { method: 'allowlist' }]);
    const rejected = audit.filter((entry) => entry.event === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0].detail).toMatchObject({ event: 'register', reason: 'not-enrolled' });

    const response = await fetch(`${coordinator.url}/metrics`);
    expect(response.status).toBe(200);
    const exposition = await response.text();
    expect(metricValue(exposition, 'distillate_clients_enrolled_total{method="allowlist"}')).toBe(2);
    expect(metricValue(exposition, 'distillate_clients_enrolled_total{method="open"}')).toBe(0);
    expect(metricValue(exposition, 'distillate_uploads_accepted_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(exposition, 'distillate_messages_rejected_total{event="register",reason="not-enrolled"}')).toBeGreaterThanOrEqual(1);
  });
});

describe('token enrollment', () => {
  it('admits each token once, also after a restart', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'distillate-enrollment-'));
    const tokens = ['first-enrollment-token-0001', 'second-enrollment-token-0002'];
    const config: Partial<CoordinatorConfig> = {
      enrollment: { mode: 'token', allowlist: [], tokens },
      database: path.join(folder, 'coordinator.db'),
      identity: createIdentity(),
    };
    const firstIdentity = createIdentity();
    const firstId = clientIdFor(firstIdentity.signing.publicKey);

    // Before the restart: one client enrolls with a token, and three clients without a usable token are rejected.
    const before = await startCoordinator(config);
    const enrolling = createClient(0, { url: before.url, identity: firstIdentity, enrollmentToken: tokens[0] });
    expect(await enrolling.client.connect()).toBe(firstId);

    const rejections = [
      { token: tokens[0], message: 'was already used by another client' },
      { token: 'not-a-token-of-this-coordinator', message: 'is not valid here' },
      { token: undefined, message: 'sent no enrollment token' },
    ];
    for (const { token, message } of rejections) {
      // Without an 'error' listener: the rejection of connect() alone reports the failure, and nothing else throws.
      const rejected = createClient(2, { url: before.url, identity: createIdentity(), enrollmentToken: token, listenForErrors: false });
      const registration = rejected.client.connect();
      await expect(registration, `token ${String(token)}`).rejects.toThrow(message);
      await expect(registration, `token ${String(token)}`).rejects.toThrow('Registration rejected (not-enrolled)');
    }
    expect(before.status().clientsRegistered).toBe(1);
    enrolling.client.close();
    await before.stop();
    expect(before.roundSummaries()).toEqual([]);

    // After the restart on the same database and keys: the enrolled client comes back without a token.
    const after = await startCoordinator(config);
    expect(after.fingerprint).toBe(before.fingerprint);
    const returning = createClient(0, { url: after.url, identity: firstIdentity, coordinatorFingerprint: after.fingerprint });
    const returningOutcome = takePart(returning);
    await waitFor(() => after.status().clientsConnected === 1, 10_000, 'the enrolled client to register again');

    const reusing = createClient(2, { url: after.url, identity: createIdentity(), enrollmentToken: tokens[0] });
    await expect(reusing.client.connect()).rejects.toThrow('was already used by another client');

    const second = createClient(1, { url: after.url, identity: createIdentity(), enrollmentToken: tokens[1] });
    const outcomes = await Promise.all([returningOutcome, takePart(second)]);
    const secondId = outcomes[1].clientId;
    expect(outcomes[0].clientId).toBe(firstId);

    const results = await after.results();
    expectOneCompleteRound(after, 2);
    expect(Object.keys(results.reports).sort()).toEqual([firstId, secondId].sort());

    // The audit log is in the database, so it contains the entries of both runs.
    const audit = after.auditLog();
    const admissions = audit.filter((entry) => entry.event === 'client-enrolled' || entry.event === 'client-reconnected');
    expect(admissions.map(({ event, clientId, detail }) => ({ event, clientId, detail }))).toEqual([
      { event: 'client-enrolled', clientId: firstId, detail: { method: 'token' } },
      { event: 'client-reconnected', clientId: firstId, detail: { method: 'known' } },
      { event: 'client-enrolled', clientId: secondId, detail: { method: 'token' } },
    ]);
    const rejectedMessages = audit
      .filter((entry) => entry.event === 'rejected')
      .map((entry) => entry.detail as { event: string; reason: string; message: string });
    expect(rejectedMessages).toHaveLength(4);
    for (const rejected of rejectedMessages) expect(rejected).toMatchObject({ event: 'register', reason: 'not-enrolled' });
    expect(rejectedMessages.filter((rejected) => rejected.message.includes('already used'))).toHaveLength(2);
    expect(rejectedMessages.filter((rejected) => rejected.message.includes('not valid'))).toHaveLength(1);
    expect(rejectedMessages.filter((rejected) => rejected.message.includes('no enrollment token'))).toHaveLength(1);
    // Tokens are stored as digests: no audit entry contains a token.
    const auditText = JSON.stringify(audit);
    for (const token of tokens) expect(auditText).not.toContain(token);
  });
});

describe('distillate tokens', () => {
  it('prints distinct tokens a coordinator accepts', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'tokens', '--count', '3']);
    const tokens = stdout.trim().split('\n');

    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(() => resolveCoordinatorConfig({ itemIds, enrollment: { mode: 'token', allowlist: [], tokens } })).not.toThrow();
  });
});
