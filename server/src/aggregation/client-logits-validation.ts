// Input checks shared by the newer aggregation rules. Every upload must have the round's shape and
// contain only finite logits, so that one malformed upload cannot turn the teacher into NaN.

import type { ClientLogits, LogitShape } from './aggregation-strategy.js';

/**
 * Throws an Error unless there is at least one upload and every upload has exactly
 * probes × candidates finite logits. The message names the offending client.
 */
export function validateClientLogits(inputs: readonly ClientLogits[], shape: LogitShape): void {
  if (inputs.length === 0) {
    throw new Error('Invalid aggregation input: expected logits from at least one client, got none.');
  }

  const size = shape.probes * shape.candidates;
  for (const input of inputs) {
    if (input.logits.length !== size) {
      throw new Error(
        `Invalid logits from client ${input.clientId}: got ${input.logits.length} values, expected ` +
          `${size} (${shape.probes} probes × ${shape.candidates} candidates). ` +
          'The client must score every candidate of every probe in this round.',
      );
    }

    for (let k = 0; k < size; k++) {
      if (!Number.isFinite(input.logits[k])) {
        throw new Error(
          `Invalid logits from client ${input.clientId}: value ${input.logits[k]} at index ${k} is not finite. ` +
            'Expected finite numbers only, so check the client model for overflow.',
        );
      }
    }
  }
}
