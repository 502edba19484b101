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

/**
 * A codec as a run names it: `float32`, `float16`, `int8`, or `top-k:K` with the number of
 * logits kept per probe, as in `top-k:32`.
 */
export type LogitCodecSpec = string;

/** Builds a codec from its spec, such as `int8` or `top-k:32`. Throws an error that names the bad spec. */
export function codecFromSpec(spec: LogitCodecSpec): LogitCodec {
  const [name, k, ...rest] = String(spec).split(':');
  if (name === 'top-k') {
    const parsed = Number(k);
    if (k === undefined || rest.length > 0 || !Number.isInteger(parsed) || parsed < 1) {
      throw new Error(`Invalid codec "${spec}": write top-k:K with K a positive integer, as in top-k:32.`);
    }
    return createLogitCodec('top-k', { k: parsed });
  }
  if (k !== undefined) {
    throw new Error(`Invalid codec "${spec}": only top-k takes a parameter. Use one of ${LOGIT_CODECS.join(', ')} or top-k:K.`);
  }
  return createLogitCodec(name);
}

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
        `Unknown logit codec "${name}": expected float32, float16, int8 or top-k:K (K logits kept per probe).`,
      );
  }
}
