// Chooses each round's transfer set: single-item seed probes and candidate items.
//
// The coordinator holds no interaction data, yet probes and candidates that few users consumed
// teach the students little. Each upload therefore carries the client's evidence: for every
// candidate, how many of its training interactions involve that item. Summed over clients, that
// is the item's popularity, and later rounds draw probes and candidates in proportion to it.
//
// Public-user probes, histories that users chose to publish, take a share of the probes of every
// round after the first, drawn without replacement within the round.
//
// Every upload contains at most probesPerRound × candidatesPerRound logits and at most
// maxProbes(candidates) probes. The coordinator sets maxProbes to keep an upload within its byte budget. While there is no
// estimate yet, the first transfer set takes the whole catalog as candidates, with as many
// probes as fit in that budget, so one round measures the popularity of every item. A share of
// each later draw stays uniform so that rare items still appear. Draws are seeded by
// (seed, round id).
import {
  type Random,
  type TransferSet,
  createRandom,
  sampleWithoutReplacement,
  transferSetFromContexts,
} from '@distillate/shared';

export interface TransferSetSamplerConfig {
  itemCount: number;
  probesPerRound: number;
  candidatesPerRound: number;
  /** Share of each draw taken uniformly from the catalog. */
  uniformShare: number;
  /** Items are drawn in proportion to popularity^popularityExponent. */
  popularityExponent: number;
  /** Contexts of public users, as item indices. */
  publicProbes?: readonly Int32Array[];
  /** Share of each round's probes taken from publicProbes. */
  publicProbeShare?: number;
  /** Most probes an upload may hold for this many candidates; by default, probesPerRound. */
  maxProbes?: (candidates: number) => number;
  seed: number;
}

export class TransferSetSampler {
  /** Interactions with each item, summed over the clients of the latest round that scored it. */
  private readonly popularity: Float64Array;
  private readonly observed: Uint8Array;
  private observedCount = 0;

  constructor(private readonly config: TransferSetSamplerConfig) {
    this.popularity = new Float64Array(config.itemCount);
    this.observed = new Uint8Array(config.itemCount);
  }

  sample(roundId: number): TransferSet {
    const random = createRandom(this.config.seed, 'transfer-set', roundId);
    const { itemCount, probesPerRound, candidatesPerRound } = this.config;

    const maxProbes = (candidates: number) => Math.max(1, Math.min(probesPerRound, this.config.maxProbes?.(candidates) ?? probesPerRound));

    if (this.observedCount === 0) {
      const budget = probesPerRound * candidatesPerRound;
      const probeCount = Math.max(1, Math.min(maxProbes(itemCount), Math.floor(budget / itemCount)));
      const probes = sampleWithoutReplacement(itemCount, probeCount, random);
      const everyItem = Int32Array.from({ length: itemCount }, (_, item) => item);
      return transferSetFromContexts(roundId, singleItemContexts(probes), everyItem);
    }

    const probeCount = maxProbes(candidatesPerRound);
    const publicProbes = this.config.publicProbes ?? [];
    const publicCount = Math.min(publicProbes.length, Math.round(probeCount * (this.config.publicProbeShare ?? 0)));
    const chosenPublic = Array.from(sampleWithoutReplacement(publicProbes.length, publicCount, random), (index) => publicProbes[index]);
    const seedProbes = singleItemContexts(this.draw(probeCount - publicCount, random));
    const candidates = this.draw(candidatesPerRound, random);
    return transferSetFromContexts(roundId, [...chosenPublic, ...seedProbes], candidates);
  }

  /** Records the candidates' evidence summed over the round's uploads. */
  observeEvidence(transferSet: TransferSet, candidateEvidence: Float64Array): void {
    transferSet.candidates.forEach((item, j) => {
      this.popularity[item] = candidateEvidence[j];
      if (this.observed[item] === 0) {
        this.observed[item] = 1;
        this.observedCount += 1;
      }
    });
  }

  /** Returns the popularity evidence gathered so far as bytes to store: popularity (float64), then the observed flags. */
  saveState(): Uint8Array {
    const state = new Uint8Array(this.popularity.byteLength + this.observed.byteLength);
    state.set(new Uint8Array(this.popularity.buffer, this.popularity.byteOffset, this.popularity.byteLength), 0);
    state.set(this.observed, this.popularity.byteLength);
    return state;
  }

  /** Reads back what saveState() returned, for a coordinator that resumes a federation. */
  restoreState(state: Uint8Array): void {
    const expected = this.popularity.byteLength + this.observed.byteLength;
    if (state.byteLength !== expected) {
      throw new Error(`Sampler state of ${state.byteLength} bytes does not fit a catalog of ${this.config.itemCount} items (${expected} bytes expected).`);
    }
    this.popularity.set(new Float64Array(Uint8Array.from(state.subarray(0, this.popularity.byteLength)).buffer));
    this.observed.set(state.subarray(this.popularity.byteLength));
    this.observedCount = this.observed.reduce((count, flag) => count + flag, 0);
  }

  /** Observed popularity of each item; the mean of the observed items for the others. */
  popularityEstimate(): Float64Array {
    let total = 0;
    for (let item = 0; item < this.config.itemCount; item++) if (this.observed[item]) total += this.popularity[item];
    const mean = this.observedCount > 0 ? total / this.observedCount : 1;
    return this.popularity.map((value, item) => (this.observed[item] ? value : mean));
  }

  private draw(count: number, random: Random): Int32Array {
    const itemCount = this.config.itemCount;
    const uniformCount = Math.round(count * this.config.uniformShare);
    const weights = this.popularityEstimate();

    // Weighted draw without replacement (Efraimidis and Spirakis, 2006): keep the items with the
    // largest u^(1 / weight), compared as log(u) / weight. Items without evidence are left to
    // the uniform share.
    const keyed: Array<[number, number]> = [];
    for (let item = 0; item < itemCount; item++) {
      if (weights[item] <= 0) continue;
      const weight = Math.pow(weights[item], this.config.popularityExponent);
      keyed.push([Math.log(1 - random()) / weight, item]);
    }
    keyed.sort((a, b) => b[0] - a[0] || a[1] - b[1]);

    const chosen = new Set<number>();
    for (let k = 0; k < keyed.length && chosen.size < count - uniformCount; k++) chosen.add(keyed[k][1]);

    // The uniform share, which also fills in when too few items have evidence.
    while (chosen.size < count) chosen.add(Math.floor(random() * itemCount));
    return Int32Array.from(chosen);
  }
}

function singleItemContexts(items: Int32Array): Int32Array[] {
  return Array.from(items, (item) => Int32Array.of(item));
}
