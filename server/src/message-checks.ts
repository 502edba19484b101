// Validation of incoming messages. Each check either returns the decoded, trusted content or
// throws a MessageRejection whose reason is reported back to the client and logged.
import {
  type EvaluationReport,
  type Exchange,
  type LogitCodec,
  type RegisterRequest,
  type RejectionReason,
  LogitUploadError,
  PROTOCOL_VERSION,
  UploadEnvelopeError,
  decodeLogitUpload,
  decodeMatrixFrame,
  describeSchemaError,
  evaluationReportSchema,
  roundMetricsSchema,
  type RoundMetrics,
  openUpload,
  registerRequestSchema,
  uploadMessageSchema,
} from '@distillate/shared';

import type { RegisteredClient } from './client-registry.js';
import type { FederationRound, RoundUpload } from './federation-round.js';

/** Format of upload payloads in this federation. */
export interface UploadFormat {
  exchange: Exchange;
  codec: LogitCodec;
  itemCount: number;
  /** Largest parameter vector or pattern matrix accepted, in values. */
  maxMatrixValues: number;
}

export class MessageRejection extends Error {
  constructor(
    readonly reason: RejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'MessageRejection';
  }

  static from(error: unknown): MessageRejection {
    if (error instanceof MessageRejection) return error;
    if (error instanceof UploadEnvelopeError || error instanceof LogitUploadError) {
      return new MessageRejection(error.reason, error.message);
    }
    return new MessageRejection('invalid-message', error instanceof Error ? error.message : String(error));
  }
}

export function checkRegistration(message: unknown): RegisterRequest {
  const parsed = registerRequestSchema.safeParse(message);
  if (!parsed.success) {
    throw new MessageRejection('invalid-message', `Invalid registration: ${describeSchemaError(parsed.error)}.`);
  }
  checkProtocolVersion(parsed.data.protocolVersion);
  return parsed.data;
}

/**
 * Checks an upload against its sender and the open round: schema, protocol version, sender
 * registration, decryption, the authenticated header (client, round, sequence), then shape and
 * values of the payload.
 */
export function checkUpload(
  message: unknown,
  client: RegisteredClient | undefined,
  round: FederationRound | null,
  format: UploadFormat,
): { upload: RoundUpload; sequence: number; bytes: number } {
  const parsed = uploadMessageSchema.safeParse(message);
  if (!parsed.success) {
    throw new MessageRejection('invalid-message', `Invalid upload: ${describeSchemaError(parsed.error)}.`);
  }
  checkProtocolVersion(parsed.data.protocolVersion);
  if (client === undefined) {
    throw new MessageRejection('not-registered', 'Upload from a connection that has not registered. Register first.');
  }
  if (round === null || round.state !== 'collecting' || parsed.data.roundId !== round.roundId) {
    const open = round?.state === 'collecting' ? `round ${round.roundId} is collecting` : 'no round is collecting';
    throw new MessageRejection('stale-round', `Upload for round ${parsed.data.roundId} arrived but ${open}.`);
  }
  if (!round.participants.has(client.clientId)) {
    throw new MessageRejection('stale-round', `Client ${client.clientId} was not sent the task of round ${round.roundId}; wait for the next round.`);
  }

  const { header, payload } = openUpload(parsed.data.upload, client.sharedKey);
  checkHeader(header, client, round.roundId);
  if (round.uploads.has(client.clientId)) {
    throw new MessageRejection('duplicate', `Client ${client.clientId} already uploaded for round ${round.roundId}.`);
  }
  return { upload: decodeRoundUpload(payload, round, format), sequence: header.sequence, bytes: parsed.data.upload.byteLength };
}

/** Opens and decodes an upload that was accepted before, as read back from the database. */
export function decodeAcceptedUpload(sealed: Uint8Array, client: RegisteredClient, round: FederationRound, format: UploadFormat): RoundUpload {
  const { payload } = openUpload(sealed, client.sharedKey);
  return decodeRoundUpload(payload, round, format);
}

function decodeRoundUpload(payload: Uint8Array, round: FederationRound, format: UploadFormat): RoundUpload {
  if (format.exchange === 'logits') {
    return { kind: 'logits', ...decodeLogitUpload(payload, { probes: round.probes, candidates: round.candidates }, format.codec) };
  }

  const columns = format.exchange === 'item-patterns' ? format.itemCount : undefined;
  const matrix = decodeMatrixFrame(payload, format.codec, { columns, maxValues: format.maxMatrixValues });
  if (format.exchange === 'parameters' && matrix.shape.rows !== 1) {
    throw new MessageRejection('wrong-shape', `Parameters arrived as ${matrix.shape.rows} rows; send them as one row.`);
  }
  const negative = format.exchange === 'item-patterns' ? matrix.values.findIndex((value) => value < 0) : -1;
  if (negative >= 0) {
    throw new MessageRejection('out-of-range', `Item pattern value ${matrix.values[negative]} at index ${negative} is negative; patterns must be non-negative.`);
  }
  const first = [...round.uploads.values()][0];
  if (format.exchange === 'parameters' && first?.kind === 'matrix' && first.shape.columns !== matrix.shape.columns) {
    throw new MessageRejection(
      'wrong-shape',
      `Upload holds ${matrix.shape.columns} parameters but this round's other uploads hold ${first.shape.columns}. ` +
        'Every client of a fedavg federation must run the same student architecture and size.',
    );
  }
  return { kind: 'matrix', ...matrix };
}

export function checkEvaluationReport(
  message: unknown,
  client: RegisteredClient | undefined,
): { report: EvaluationReport; sequence: number } {
  const parsed = uploadMessageSchema.safeParse(message);
  if (!parsed.success) {
    throw new MessageRejection('invalid-message', `Invalid report: ${describeSchemaError(parsed.error)}.`);
  }
  checkProtocolVersion(parsed.data.protocolVersion);
  if (client === undefined) {
    throw new MessageRejection('not-registered', 'Report from a connection that has not registered. Register first.');
  }

  const { header, payload } = openUpload(parsed.data.upload, client.sharedKey);
  checkHeader(header, client, parsed.data.roundId);
  const report = evaluationReportSchema.safeParse(parseJson(payload, 'Report'));
  if (!report.success) {
    throw new MessageRejection('invalid-message', `Invalid report: ${describeSchemaError(report.error)}.`);
  }
  return { report: report.data, sequence: header.sequence };
}

/** Checks the metric sums a client reports after a round it took part in. */
export function checkRoundMetrics(
  message: unknown,
  client: RegisteredClient | undefined,
  rounds: readonly FederationRound[],
): { metrics: RoundMetrics; round: FederationRound; sequence: number } {
  const parsed = uploadMessageSchema.safeParse(message);
  if (!parsed.success) {
    throw new MessageRejection('invalid-message', `Invalid round metrics: ${describeSchemaError(parsed.error)}.`);
  }
  checkProtocolVersion(parsed.data.protocolVersion);
  if (client === undefined) {
    throw new MessageRejection('not-registered', 'Round metrics from a connection that has not registered. Register first.');
  }
  const round = rounds.find((candidate) => candidate.roundId === parsed.data.roundId);
  if (round === undefined || !round.uploads.has(client.clientId)) {
    throw new MessageRejection('stale-round', `Client ${client.clientId} has no accepted upload in round ${parsed.data.roundId} to report metrics for.`);
  }
  if (round.metrics.has(client.clientId)) {
    throw new MessageRejection('duplicate', `Client ${client.clientId} already reported metrics for round ${round.roundId}.`);
  }

  const { header, payload } = openUpload(parsed.data.upload, client.sharedKey);
  checkHeader(header, client, round.roundId);
  const metrics = roundMetricsSchema.safeParse(parseJson(payload, 'Round metrics'));
  if (!metrics.success) {
    throw new MessageRejection('invalid-message', `Invalid round metrics: ${describeSchemaError(metrics.error)}.`);
  }
  return { metrics: metrics.data, round, sequence: header.sequence };
}

function parseJson(payload: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new MessageRejection('invalid-message', `${what} payload is not JSON.`);
  }
}

function checkProtocolVersion(version: number): void {
  if (version !== PROTOCOL_VERSION) {
    throw new MessageRejection(
      'protocol-version',
      `Protocol version ${version} is not supported; this coordinator speaks version ${PROTOCOL_VERSION}. Update the client.`,
    );
  }
}

function checkHeader(
  header: { clientId: string; roundId: number; sequence: number },
  client: RegisteredClient,
  roundId: number,
): void {
  if (header.clientId !== client.clientId) {
    throw new MessageRejection('wrong-client', `Payload was sealed by client ${header.clientId}, not by the sender ${client.clientId}.`);
  }
  if (header.roundId !== roundId) {
    throw new MessageRejection('stale-round', `Payload was sealed for round ${header.roundId}, not round ${roundId}.`);
  }
  if (header.sequence <= client.lastSequence) {
    throw new MessageRejection('replay', `Sequence number ${header.sequence} is not above ${client.lastSequence}: the payload is a replay.`);
  }
}
