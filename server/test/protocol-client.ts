// A bare protocol client for tests: it speaks to a real coordinator over socket.io and lets a
// test send well-formed and malformed messages of its choosing.
import {
  type ChallengeMessage,
  type ClientToServerEvents,
  type Identity,
  type RegisterReply,
  type RoundTaskMessage,
  type ServerToClientEvents,
  type TeacherMessage,
  type UploadReply,
  PROTOCOL_VERSION,
  createIdentity,
  signRegistration,
} from '@distillate/shared';
import { type Socket, io } from 'socket.io-client';
import nacl from 'tweetnacl';

/** Fields of a registration that a test may replace to send a malformed or rejected one. */
export interface RegisterOptions {
  /** Signature sent in place of the signature of this connection's challenge. */
  signature?: Uint8Array;
  enrollmentToken?: string;
}

export class ProtocolClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly tasks: RoundTaskMessage[] = [];
  readonly teachers: TeacherMessage[] = [];
  sharedKey: Uint8Array | null = null;
  clientId = '';
  private readonly challenge: Promise<ChallengeMessage>;

  constructor(
    url: string,
    readonly identity: Identity = createIdentity(),
  ) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    this.challenge = new Promise((resolve) => this.socket.once('session:challenge', resolve));
    this.socket.on('round:task', (task) => this.tasks.push(task));
    this.socket.on('round:teacher', (teacher) => this.teachers.push(teacher));
  }

  async register(exampleCount = 10, options: RegisterOptions = {}): Promise<RegisterReply> {
    const challenge = await this.challenge;
    this.sharedKey = nacl.box.before(challenge.coordinatorBoxKey, this.identity.box.secretKey);
    const reply: RegisterReply = await this.socket.emitWithAck('session:register', {
      protocolVersion: PROTOCOL_VERSION,
      signingPublicKey: this.identity.signing.publicKey,
      boxPublicKey: this.identity.box.publicKey,
      signature: options.signature ?? signRegistration(this.identity, challenge.challenge),
      exampleCount,
      ...(options.enrollmentToken === undefined ? {} : { enrollmentToken: options.enrollmentToken }),
    });
    if (reply.ok) this.clientId = reply.clientId;
    return reply;
  }

  upload(message: unknown): Promise<UploadReply> {
    return this.socket.emitWithAck('round:upload', message as never);
  }

  uploadPart(message: unknown): Promise<UploadReply> {
    return this.socket.emitWithAck('round:upload-part', message as never);
  }

  report(message: unknown): Promise<UploadReply> {
    return this.socket.emitWithAck('evaluation:report', message as never);
  }

  async nextTask(count: number): Promise<RoundTaskMessage> {
    while (this.tasks.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.tasks[count - 1];
  }

  async nextTeacher(count: number): Promise<TeacherMessage> {
    while (this.teachers.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.teachers[count - 1];
  }

  close(): void {
    this.socket.close();
  }
}
