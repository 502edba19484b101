// Progress of a simulation on the terminal: a progress bar per federated run (rounds) and one for
// the reference students on a TTY, and a line per step otherwise, so that logs stay readable.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

import type { FederationProgress } from './federation-run.js';

export class SimulationProgress {
  private readonly interactive = Boolean(process.stdout.isTTY);
  private readonly bars: MultiBar | null;
  private readonly lastLines = new Map<string, string>();

  /** With `quiet`, nothing is printed: for tests and programs that read only the report. */
  constructor(private readonly quiet = false) {
    this.bars =
      !quiet && this.interactive
        ? new MultiBar({ format: '{label} [{bar}] {value}/{total} {status}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
        : null;
  }

  /** Returns the progress callback of one federated run. */
  federation(label: string, rounds: number): (progress: FederationProgress) => void {
    const bar = this.bars?.create(rounds, 0, { label: label.padEnd(16), status: 'starting clients' });
    return (progress) => {
      const status =
        progress.phase === 'registering'
          ? `starting ${progress.clients} clients`
          : progress.phase === 'training'
            ? `round ${progress.round}: ${progress.uploads}/${progress.clients} clients uploaded`
            : progress.phase === 'reporting'
              ? 'clients evaluating'
              : 'done';
      const completed = progress.phase === 'reporting' || progress.phase === 'finished' ? rounds : Math.max(0, progress.round - 1);
      this.update(bar, label, completed, status);
    };
  }

  /** Returns the progress callback of the reference students. */
  baselines(label: string): (finished: number, total: number) => void {
    let bar: SingleBar | undefined;
    return (finished, total) => {
      bar ??= this.bars?.create(total, 0, { label: label.padEnd(16), status: '' });
      this.update(bar, label, finished, `students trained ${finished}/${total}`);
    };
  }

  message(text: string): void {
    if (this.quiet) return;
    if (this.bars) this.bars.log(`${text}\n`);
    else console.log(text);
  }

  stop(): void {
    this.bars?.stop();
  }

  private update(bar: SingleBar | undefined, label: string, value: number, status: string): void {
    if (this.quiet) return;
    if (bar) {
      bar.update(value, { status });
      return;
    }
    const line = `${label}: ${status}`;
    if (this.lastLines.get(label) === line) return;
    this.lastLines.set(label, line);
    console.log(line);
  }
}
