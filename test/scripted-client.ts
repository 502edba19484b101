// A federation client driven by a test message by message, over real socket.io and real
// encryption, so that a test decides when it registers, uploads and reports.
import {
  type ChallengeMessage,
  type ClientToServerEvents,
  type EvaluationReport,
  Float32LogitCodec,
  type Identity,
  PROTOCOL_VERSION,
  type RegisterReply,
  type RoundTaskMessage,
  type ServerToClientEvents,
  emptyEvaluationSums,
  encodeLogitUpload,
  sealUpload,
  signRegistration,
} from '@distillate/shared';
import { type Socket, io } from 'socket.io-client';
import nacl from 'tweetnacl';

/** A client that sends each message only when the test calls the matching method. */
export class ScriptedClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly tasks: RoundTaskMessage[] = [];
  readonly teachers: number[] = [];
  completed = false;
  sharedKey: Uint8Array | null = null;
  clientId = '';
  private readonly challenge: Promise<ChallengeMessage>;

  constructor(
    url: string,
    readonly identity: Identity,
  ) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    this.challenge = new Promise((resolve) => this.socket.once('session:challenge', resolve));
    this.socket.on('round:task', (task) => this.tasks.push(task));
    this.socket.on('round:teacher', (teacher) => this.teachers.push(teacher.roundId));
    this.socket.on('federation:complete', () => (this.completed = true));
  }

  async register(): Promise<RegisterReply> {
    const challenge = await this.challenge;
    this.sharedKey = nacl.box.before(challenge.coordinatorBoxKey, this.identity.box.secretKey);
    const reply: RegisterReply = await this.socket.emitWithAck('session:register', {
      protocolVersion: PROTOCOL_VERSION,
      signingPublicKey: this.identity.signing.publicKey,
      boxPublicKey: this.identity.box.publicKey,
      signature: signRegistration(this.identity, challenge.challenge),
      exampleCount: 10,
    });
    if (reply.ok) this.clientId = reply.clientId;
    return reply;
  }

  /** Uploads constant logits of the task's shape. */
  upload(task: RoundTaskMessage, sequence: number) {
    const probes = task.transferSet!.probeOffsets.byteLength / 4 - 1;
    const candidates = task.transferSet!.candidates.byteLength / 4;
    const payload = encodeLogitUpload(
      {
        logits: new Float32Array(probes * candidates).fill(0.5),
        probeEvidence: new Float32Array(probes).fill(1),
        candidateEvidence: new Float32Array(candidates).fill(1),
      },
      new Float32LogitCodec(),
    );
    const upload = sealUpload({ roundId: task.roundId, clientId: this.clientId, sequence }, payload, this.sharedKey!);
    return this.socket.emitWithAck('round:upload', { protocolVersion: PROTOCOL_VERSION, roundId: task.roundId, upload });
  }

  report(roundId: number, sequence: number) {
    const report: EvaluationReport = {
      test: emptyEvaluationSums(),
      validation: emptyEvaluationSums(),
      finalStudentValidation: emptyEvaluationSums(),
      bytesSent: 0,
      bytesReceived: 0,
      bestRound: roundId,
    };
    const upload = sealUpload({ roundId, clientId: this.clientId, sequence }, new TextEncoder().encode(JSON.stringify(report)), this.sharedKey!);
    return this.socket.emitWithAck('evaluation:report', { protocolVersion: PROTOCOL_VERSION, roundId, upload });
  }

  close(): void {
    this.socket.close();
  }
}

/** Polls `read` every 25 ms until it returns a value, or throws after `timeoutMs`. */
export async function until<T>(what: string, read: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = read();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
