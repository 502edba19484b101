// Validation of incoming messages. Each check either returns the decoded, trusted content or
// throws a MessageRejection whose reason is reported back to the client and logged.
import {
  type EvaluationReport,
  type LogitUpload,
  type RegisterRequest,
  type RejectionReason,
  LogitUploadError,
  PROTOCOL_VERSION,
  UploadEnvelopeError,
  decodeLogitUpload,
  describeSchemaError,
  evaluationReportSchema,
  openUpload,
  registerRequestSchema,
  uploadMessageSchema,
} from '@distillate/shared';

import type { RegisteredClient } from './client-registry.js';
import type { FederationRound } from './federation-round.js';

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
): { upload: LogitUpload; sequence: number; bytes: number } {
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
  const upload = decodeLogitUpload(payload, { probes: round.probes, candidates: round.candidates });
  return { upload, sequence: header.sequence, bytes: parsed.data.upload.byteLength };
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
  let content: unknown;
  try {
    content = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new MessageRejection('invalid-message', 'Report payload is not JSON.');
  }
  const report = evaluationReportSchema.safeParse(content);
  if (!report.success) {
    throw new MessageRejection('invalid-message', `Invalid report: ${describeSchemaError(report.error)}.`);
  }
  return { report: report.data, sequence: header.sequence };
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
