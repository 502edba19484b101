// Registry of logit codecs: the names a run can choose and a factory that builds a codec by name.
import { Float16LogitCodec } from './float16-codec.js';
import { Float32LogitCodec } from './float32-codec.js';
import { Int8LogitCodec } from './int8-codec.js';
import type { LogitCodec } from './logit-codec.js';
import { TopKLogitCodec } from './top-k-codec.js';

export * from './logit-codec.js';
export * from './half-precision.js';
export * from './float32-codec.js';
export * from './float16-codec.js';
export * from './int8-codec.js';
export * from './top-k-codec.js';

export const LOGIT_CODECS = ['float32', 'float16', 'int8', 'top-k'] as const;

export type LogitCodecName = (typeof LOGIT_CODECS)[number];

export interface LogitCodecOptions {
  /** Number of logits kept per probe row. The top-k codec requires it, and the others ignore it. */
  k?: number;
}

/** Builds the codec registered under `name`. Throws for an unknown name or a missing top-k `k`. */
export function createLogitCodec(name: string, options: LogitCodecOptions = {}): LogitCodec {
  switch (name) {
    case 'float32':
      return new Float32LogitCodec();

    case 'float16':
      return new Float16LogitCodec();

    case 'int8':
      return new Int8LogitCodec();

    case 'top-k':
      if (options.k === undefined) {
        throw new Error('top-k codec: missing option k. Pass { k } with the number of logits to keep per probe.');
      }
      return new TopKLogitCodec({ k: options.k });

    default:
      throw new Error(
        `Unknown logit codec "${name}": expected one of ${LOGIT_CODECS.join(', ')}. ` +
          'Choose a codec from LOGIT_CODECS.',
      );
  }
}
