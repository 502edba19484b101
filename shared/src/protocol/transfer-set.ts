// The transfer set of a round: public probe contexts and the candidate items every client scores
// for each probe. Clients answer with a [probes × candidates] matrix of logits.
import { bytesOf, int32ArrayFrom } from './binary.js';

export interface TransferSet {
  roundId: number;
  /** Probe q's context is probeItems[probeOffsets[q] .. probeOffsets[q + 1]). Length: probes + 1. */
  probeOffsets: Int32Array;
  probeItems: Int32Array;
  /** Item indices to score for every probe. */
  candidates: Int32Array;
}

export function probeCount(transferSet: TransferSet): number {
  return transferSet.probeOffsets.length - 1;
}

export function logitCount(transferSet: TransferSet): number {
  return probeCount(transferSet) * transferSet.candidates.length;
}

/** The probe contexts as separate arrays (views into probeItems). */
export function probeContexts(transferSet: TransferSet): Int32Array[] {
  const contexts: Int32Array[] = [];
  for (let q = 0; q < probeCount(transferSet); q++) {
    contexts.push(transferSet.probeItems.subarray(transferSet.probeOffsets[q], transferSet.probeOffsets[q + 1]));
  }
  return contexts;
}

export function transferSetFromContexts(roundId: number, contexts: readonly ArrayLike<number>[], candidates: Int32Array): TransferSet {
  const probeOffsets = new Int32Array(contexts.length + 1);
  contexts.forEach((context, q) => (probeOffsets[q + 1] = probeOffsets[q] + context.length));
  const probeItems = new Int32Array(probeOffsets[contexts.length]);
  contexts.forEach((context, q) => probeItems.set(context, probeOffsets[q]));
  return { roundId, probeOffsets, probeItems, candidates };
}

/**
 * Checks that a transfer set is well formed for a catalog of `itemCount` items, and throws an
 * error that names the first problem.
 */
export function validateTransferSet(transferSet: TransferSet, itemCount: number): void {
  const { probeOffsets, probeItems, candidates } = transferSet;
  if (probeOffsets.length < 2 || probeOffsets[0] !== 0) {
    throw new Error('Transfer set has no probes, or its probe offsets do not start at 0.');
  }
  for (let q = 1; q < probeOffsets.length; q++) {
    if (probeOffsets[q] < probeOffsets[q - 1]) throw new Error(`Transfer set probe offsets decrease at probe ${q - 1}.`);
  }
  if (probeOffsets[probeOffsets.length - 1] !== probeItems.length) {
    throw new Error(
      `Transfer set probe offsets end at ${probeOffsets[probeOffsets.length - 1]} but there are ${probeItems.length} probe items.`,
    );
  }
  if (candidates.length === 0) throw new Error('Transfer set has no candidate items.');
  for (const [name, items] of [['probe item', probeItems], ['candidate', candidates]] as const) {
    for (let k = 0; k < items.length; k++) {
      if (items[k] < 0 || items[k] >= itemCount) {
        throw new Error(`Transfer set ${name} ${items[k]} is outside the catalog of ${itemCount} items.`);
      }
    }
  }
}

/** The three arrays of a transfer set as bytes, for a socket.io message. */
export interface TransferSetFrames {
  probeOffsets: Uint8Array;
  probeItems: Uint8Array;
  candidates: Uint8Array;
}

export function transferSetToFrames(transferSet: TransferSet): TransferSetFrames {
  return {
    probeOffsets: bytesOf(transferSet.probeOffsets),
    probeItems: bytesOf(transferSet.probeItems),
    candidates: bytesOf(transferSet.candidates),
  };
}

export function transferSetFromFrames(roundId: number, frames: TransferSetFrames): TransferSet {
  return {
    roundId,
    probeOffsets: int32ArrayFrom(frames.probeOffsets, 'probeOffsets'),
    probeItems: int32ArrayFrom(frames.probeItems, 'probeItems'),
    candidates: int32ArrayFrom(frames.candidates, 'candidates'),
  };
}
