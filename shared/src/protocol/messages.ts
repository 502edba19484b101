// The federation protocol: socket.io event names, their payloads, and run-time schemas. Both
// sides validate every payload against these schemas before using it.
import { z } from 'zod';

export const PROTOCOL_VERSION = 3;

/**
 * Payloads that clients upload and the coordinator sends back in a federation:
 * - `logits`: logits on the round's transfer set; the coordinator aggregates them into a teacher.
 * - `parameters`: the student's weights as one vector; the coordinator averages them (FedAvg).
 * - `item-patterns`: non-negative item patterns [patterns × items], sent once; the coordinator
 *   factorizes them jointly into global item patterns (FedSplit).
 */
export const EXCHANGES = ['logits', 'parameters', 'item-patterns'] as const;
export type Exchange = (typeof EXCHANGES)[number];

// Binary fields arrive as Buffer (a Uint8Array) from socket.io's binary attachments.
const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected binary data' });
const roundId = z.number().int().min(0).max(0xffffffff);

export const challengeMessageSchema = z.object({
  protocolVersion: z.number().int(),
  challenge: bytes,
  coordinatorSigningKey: bytes,
  coordinatorBoxKey: bytes,
});
export type ChallengeMessage = z.infer<typeof challengeMessageSchema>;

export const registerRequestSchema = z.object({
  protocolVersion: z.number().int(),
  signingPublicKey: bytes,
  boxPublicKey: bytes,
  signature: bytes,
  /** Number of training interactions the client holds; used only for bounded weighting. */
  exampleCount: z.number().int().min(0),
  /** One-time enrollment token, for a coordinator that admits new clients by token. */
  enrollmentToken: z.string().min(1).max(256).optional(),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const federationSettingsSchema = z.object({
  /** Random id of the federation, the same across coordinator restarts; clients tie their checkpoints to it. */
  federationId: z.string(),
  rounds: z.number().int().min(1),
  itemIds: z.array(z.string()),
  exchange: z.enum(EXCHANGES),
  /** Codec of client uploads, such as `float16` or `top-k:32`. */
  uploadCodec: z.string(),
  /** Codec of what the coordinator sends back. */
  teacherCodec: z.string(),
  /** Whether clients send their metric sums after each round (see roundMetricsSchema). */
  roundMetrics: z.boolean(),
  /** Largest binary field of one message, in bytes; larger uploads travel as parts (round:upload-part). */
  maxMessageBytes: z.number().int().min(1024),
});
export type FederationSettings = z.infer<typeof federationSettingsSchema>;

export const registerReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    clientId: z.string(),
    federation: federationSettingsSchema,
    /**
     * Highest sequence number the coordinator has accepted from this client. A client that lost
     * its own count, after a restart, continues above it.
     */
    lastSequence: z.number().int().min(0),
  }),
  z.object({ ok: z.literal(false), reason: z.string(), error: z.string() }),
]);
export type RegisterReply = z.infer<typeof registerReplySchema>;

export const roundTaskMessageSchema = z.object({
  protocolVersion: z.number().int(),
  roundId,
  /** Unix time in milliseconds after which the coordinator stops waiting for uploads. */
  deadline: z.number(),
  /** The transfer set to score; present when the federation exchanges logits. */
  transferSet: z.object({ probeOffsets: bytes, probeItems: bytes, candidates: bytes }).optional(),
});
export type RoundTaskMessage = z.infer<typeof roundTaskMessageSchema>;

export const teacherMessageSchema = z.object({
  protocolVersion: z.number().int(),
  roundId,
  /** nonce || secretbox, under the round key, of the teacher logits, the averaged parameters or the global patterns. */
  teacher: bytes,
  /** The round key, boxed to this client. */
  roundKey: bytes,
  /**
   * The round's transfer set, sent with the teacher of the last round to clients that did not
   * take part in it, so that every client learns from the federation before it is evaluated.
   */
  transferSet: z.object({ probeOffsets: bytes, probeItems: bytes, candidates: bytes }).optional(),
});
export type TeacherMessage = z.infer<typeof teacherMessageSchema>;

export const federationCompleteMessageSchema = z.object({
  protocolVersion: z.number().int(),
  /** Id of the last round that produced a teacher. */
  lastRoundId: roundId,
});
export type FederationCompleteMessage = z.infer<typeof federationCompleteMessageSchema>;

export const uploadMessageSchema = z.object({
  protocolVersion: z.number().int(),
  roundId,
  /** Output of sealUpload: nonce || box of (header || payload of the federation's exchange). */
  upload: bytes,
});
export type UploadMessage = z.infer<typeof uploadMessageSchema>;

/**
 * One part of an upload larger than the federation's maxMessageBytes. The parts of a round's
 * upload, joined in index order, form the sealed upload of an uploadMessage.
 */
export const uploadPartMessageSchema = z.object({
  protocolVersion: z.number().int(),
  roundId,
  index: z.number().int().min(0),
  count: z.number().int().min(2).max(65_536),
  part: bytes,
});
export type UploadPartMessage = z.infer<typeof uploadPartMessageSchema>;

export type RejectionReason =
  | 'invalid-message'
  | 'protocol-version'
  | 'not-registered'
  | 'decryption-failed'
  | 'malformed-header'
  | 'wrong-client'
  | 'stale-round'
  | 'replay'
  | 'wrong-shape'
  | 'non-finite'
  | 'out-of-range'
  | 'too-large'
  | 'duplicate'
  | 'not-enrolled'
  | 'rate-limited';

export type UploadReply = { ok: true } | { ok: false; reason: RejectionReason; error: string };

export interface ServerToClientEvents {
  'session:challenge': (message: ChallengeMessage) => void;
  'round:task': (message: RoundTaskMessage) => void;
  'round:teacher': (message: TeacherMessage) => void;
  'federation:complete': (message: FederationCompleteMessage) => void;
}

export interface ClientToServerEvents {
  'session:register': (message: RegisterRequest, reply: (reply: RegisterReply) => void) => void;
  'round:upload': (message: UploadMessage, reply: (reply: UploadReply) => void) => void;
  'round:upload-part': (message: UploadPartMessage, reply: (reply: UploadReply) => void) => void;
  'evaluation:report': (message: UploadMessage, reply: (reply: UploadReply) => void) => void;
  'round:metrics': (message: UploadMessage, reply: (reply: UploadReply) => void) => void;
}

/**
 * Formats a zod error as one line that names each invalid field. `whole` names the top-level
 * value, and `prefix` goes before every field path, for a value nested in a larger file.
 */
export function describeSchemaError(error: z.ZodError, whole = 'message', prefix = ''): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? prefix + issue.path.join('.') : whole}: ${issue.message}`)
    .join('; ');
}
