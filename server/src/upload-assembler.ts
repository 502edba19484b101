// Reassembles uploads that arrive in parts. An upload larger than the federation's message
// limit travels as round:upload-part messages. The coordinator keeps one partial upload per
// client and hands over the joined bytes when the last part is in.
import type { UploadPartMessage } from '@distillate/shared';

import { MessageRejection } from './message-checks.js';

interface PartialUpload {
  roundId: number;
  parts: Array<Uint8Array | undefined>;
  received: number;
  bytes: number;
}

export class UploadAssembler {
  private readonly pending = new Map<string, PartialUpload>();

  /** `maxUploadBytes` bounds the joined upload of one client, in bytes. */
  constructor(private readonly maxUploadBytes: number) {}

  /** Adds one part; returns the joined upload once every part has arrived, and null before. */
  add(clientId: string, message: UploadPartMessage): Uint8Array | null {
    if (message.index >= message.count) {
      throw new MessageRejection('invalid-message', `Upload part ${message.index} of ${message.count} is out of range; parts are numbered from 0.`);
    }

    let upload = this.pending.get(clientId);
    // A part of another round, or with another part count, starts the upload afresh: the client gave up on the old one.
    if (upload === undefined || upload.roundId !== message.roundId || upload.parts.length !== message.count) {
      upload = { roundId: message.roundId, parts: new Array(message.count), received: 0, bytes: 0 };
      this.pending.set(clientId, upload);
    }
    if (upload.parts[message.index] !== undefined) {
      throw new MessageRejection('duplicate', `Upload part ${message.index} of round ${message.roundId} arrived twice.`);
    }
    if (upload.bytes + message.part.byteLength > this.maxUploadBytes) {
      this.pending.delete(clientId);
      throw new MessageRejection(
        'too-large',
        `The parts of this upload exceed ${this.maxUploadBytes} bytes, the most one client may upload in a round. Send fewer probes or a smaller codec.`,
      );
    }

    upload.parts[message.index] = Uint8Array.from(message.part);
    upload.received += 1;
    upload.bytes += message.part.byteLength;
    if (upload.received < message.count) return null;

    this.pending.delete(clientId);
    const joined = new Uint8Array(upload.bytes);
    let offset = 0;
    for (const part of upload.parts) {
      joined.set(part!, offset);
      offset += part!.byteLength;
    }
    return joined;
  }

  /** Drops a client's partial upload, as when it disconnects. */
  discard(clientId: string): void {
    this.pending.delete(clientId);
  }
}
