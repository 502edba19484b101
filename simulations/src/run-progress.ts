// Progress of a run on the terminal: one live line on a TTY, one line per step otherwise.
import type { FederationProgress } from './federation-run.js';

export class RunProgress {
  private readonly started = Date.now();
  private lastLine = '';
  private readonly interactive = Boolean(process.stdout.isTTY);

  /** With `quiet`, nothing is printed: for tests and programs that read only the report. */
  constructor(private readonly quiet = false) {}

  federation(progress: FederationProgress): void {
    const status =
      progress.phase === 'registering'
        ? `starting ${progress.clients} clients`
        : progress.phase === 'training'
          ? `round ${progress.round}/${progress.rounds}, clients done ${progress.uploads}/${progress.clients}`
          : progress.phase === 'reporting'
            ? `rounds done, clients evaluating`
            : 'done';
    this.show(`federation: ${status}`);
  }

  baselines(finished: number, total: number): void {
    this.show(`baselines: students trained ${finished}/${total}`);
  }

  message(text: string): void {
    if (this.quiet) return;
    this.finishLine();
    console.log(text);
  }

  finishLine(): void {
    if (this.interactive && this.lastLine !== '') process.stdout.write('\n');
    this.lastLine = '';
  }

  private show(status: string): void {
    const line = `[${formatElapsed(Date.now() - this.started)}] ${status}`;
    if (this.quiet || line === this.lastLine) return;
    if (this.interactive) process.stdout.write(`\r${line.padEnd(this.lastLine.length)}`);
    else console.log(line);
    this.lastLine = line;
  }
}

function formatElapsed(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
