/** A malformed line in an interaction file: names the file, the 1-based line and the problem. */
export class DatasetFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}, line ${line}: ${problem}`);
    this.name = 'DatasetFormatError';
  }
}
