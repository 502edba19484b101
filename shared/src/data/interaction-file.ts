// Readers for interaction files: the MovieLens releases and generic CSV or TSV files of
// user,item[,value][,timestamp]. Each malformed line raises a DatasetFormatError that names
// the file, the line and what is wrong with it.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { DatasetFormatError } from './dataset-format-error.js';
import { type InteractionTable, InteractionTableBuilder } from './interaction-table.js';

export type InteractionFileFormat =
  | 'movielens-latest'
  | 'movielens-100k'
  | 'movielens-1m'
  | 'delimited';

export const INTERACTION_FILE_FORMATS: readonly InteractionFileFormat[] = [
  'movielens-latest',
  'movielens-100k',
  'movielens-1m',
  'delimited',
];

interface ColumnLayout {
  separator: string;
  user: number;
  item: number;
  value: number | null;
  timestamp: number | null;
  fieldCount: number;
  /** Number of lines before the first row (0 or 1). */
  headerLines: number;
}

const MOVIELENS_LATEST_HEADER = 'userId,movieId,rating,timestamp';

const HEADER_NAMES: Record<'user' | 'item' | 'value' | 'timestamp', readonly string[]> = {
  user: ['user', 'userid', 'user_id'],
  item: ['item', 'itemid', 'item_id', 'movieid', 'movie_id'],
  value: ['value', 'rating', 'score', 'count'],
  timestamp: ['timestamp', 'time', 'ts'],
};

/**
 * Resolves a dataset path to its interaction file and format. A directory is searched for
 * `ratings.csv` (MovieLens latest), `u.data` (MovieLens 100K) or `ratings.dat` (MovieLens 1M).
 */
export async function resolveInteractionFile(
  datasetPath: string,
): Promise<{ file: string; format: InteractionFileFormat }> {
  const info = await stat(datasetPath).catch(() => null);
  if (info === null) {
    throw new Error(
      `Dataset not found at ${datasetPath}. Give the path of a MovieLens folder or of a ` +
        'CSV or TSV file of user,item[,value][,timestamp].',
    );
  }

  if (info.isFile()) return { file: datasetPath, format: formatFromFileName(datasetPath) };

  const movieLensFiles: Array<[string, InteractionFileFormat]> = [
    ['ratings.csv', 'movielens-latest'],
    ['u.data', 'movielens-100k'],
    ['ratings.dat', 'movielens-1m'],
  ];
  for (const [name, format] of movieLensFiles) {
    const candidate = path.join(datasetPath, name);
    const candidateInfo = await stat(candidate).catch(() => null);
    if (candidateInfo?.isFile()) return { file: candidate, format };
  }
  throw new Error(
    `No interaction file in ${datasetPath}: expected ratings.csv (MovieLens latest), ` +
      'u.data (MovieLens 100K) or ratings.dat (MovieLens 1M). Pass the file itself for other names.',
  );
}

function formatFromFileName(file: string): InteractionFileFormat {
  const name = path.basename(file);
  if (name === 'u.data') return 'movielens-100k';
  if (name === 'ratings.dat') return 'movielens-1m';
  return 'delimited';
}

/** Reads an interaction file or a MovieLens folder. */
export async function loadInteractions(
  datasetPath: string,
  format?: InteractionFileFormat,
): Promise<InteractionTable> {
  const resolved = await resolveInteractionFile(datasetPath);
  const text = await readFile(resolved.file, 'utf8');
  return parseInteractions(text, resolved.file, format ?? resolved.format);
}

/**
 * Parses the text of an interaction file. A `delimited` file may start with a header that names
 * its columns (user or userId, item or itemId or movieId, value or rating, timestamp), in any
 * order; without one the columns are user,item[,value][,timestamp].
 */
export function parseInteractions(
  text: string,
  file: string,
  format: InteractionFileFormat,
): InteractionTable {
  const lines = text.split(/\r?\n/);
  const layout = layoutFor(format, lines, file);
  const builder = new InteractionTableBuilder(file, layout.timestamp !== null);

  for (let index = layout.headerLines; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === '') continue;
    const lineNumber = index + 1;
    const fields = line.split(layout.separator);

    if (fields.length !== layout.fieldCount) {
      throw new DatasetFormatError(
        file,
        lineNumber,
        `expected ${layout.fieldCount} fields separated by ${describeSeparator(layout.separator)} ` +
          `but found ${fields.length}. Fix or remove this line.`,
      );
    }

    const user = unquote(fields[layout.user]);
    const item = unquote(fields[layout.item]);
    if (user === '') throw new DatasetFormatError(file, lineNumber, 'the user id is empty.');
    if (item === '') throw new DatasetFormatError(file, lineNumber, 'the item id is empty.');

    const value =
      layout.value === null ? 1 : parseNumber(fields[layout.value], 'value', file, lineNumber);
    const timestamp =
      layout.timestamp === null
        ? undefined
        : parseNumber(fields[layout.timestamp], 'timestamp', file, lineNumber);
    if (timestamp !== undefined && timestamp < 0) {
      throw new DatasetFormatError(
        file,
        lineNumber,
        `the timestamp ${fields[layout.timestamp!]} is negative; expected seconds since 1970-01-01.`,
      );
    }

    builder.add(user, item, value, timestamp);
  }

  if (builder.length === 0) {
    throw new Error(`${file} contains no interactions. Check that it is the right file.`);
  }
  return builder.build();
}

function layoutFor(format: InteractionFileFormat, lines: string[], file: string): ColumnLayout {
  const movieLensColumns = { user: 0, item: 1, value: 2, timestamp: 3, fieldCount: 4 };
  switch (format) {
    case 'movielens-100k':
      return { separator: '\t', headerLines: 0, ...movieLensColumns };
    case 'movielens-1m':
      return { separator: '::', headerLines: 0, ...movieLensColumns };
    case 'movielens-latest':
      if (lines[0]?.trim() !== MOVIELENS_LATEST_HEADER) {
        throw new DatasetFormatError(
          file,
          1,
          `expected the header "${MOVIELENS_LATEST_HEADER}" of MovieLens ratings.csv ` +
            `but found "${lines[0] ?? ''}".`,
        );
      }
      return { separator: ',', headerLines: 1, ...movieLensColumns };
    case 'delimited':
      return delimitedLayout(lines, file);
  }
}

/** Works out separator, header and columns of a generic CSV or TSV file from its first line. */
function delimitedLayout(lines: string[], file: string): ColumnLayout {
  const firstIndex = lines.findIndex((line) => line.trim() !== '');
  if (firstIndex === -1) {
    throw new Error(`${file} is empty. Expected lines of user,item[,value][,timestamp].`);
  }
  const first = lines[firstIndex];
  const separator = first.includes('\t') ? '\t' : first.includes(';') ? ';' : ',';
  const fields = first.split(separator).map((field) => unquote(field).toLowerCase());

  const headerColumn = (role: keyof typeof HEADER_NAMES): number | null => {
    const index = fields.findIndex((field) => HEADER_NAMES[role].includes(field));
    return index === -1 ? null : index;
  };
  const user = headerColumn('user');
  const item = headerColumn('item');

  if (user !== null && item !== null) {
    return {
      separator,
      user,
      item,
      value: headerColumn('value'),
      timestamp: headerColumn('timestamp'),
      fieldCount: fields.length,
      headerLines: firstIndex + 1,
    };
  }
  if (user !== null || item !== null) {
    throw new DatasetFormatError(
      file,
      firstIndex + 1,
      `the header "${first}" names a ${user === null ? 'item' : 'user'} column but no ` +
        `${user === null ? 'user' : 'item'} column. Name both (user and item, or userId and itemId).`,
    );
  }

  if (fields.length < 2 || fields.length > 4) {
    throw new DatasetFormatError(
      file,
      firstIndex + 1,
      `expected 2 to 4 fields (user,item[,value][,timestamp]) separated by ` +
        `${describeSeparator(separator)} but found ${fields.length}.`,
    );
  }
  return {
    separator,
    user: 0,
    item: 1,
    value: fields.length >= 3 ? 2 : null,
    timestamp: fields.length === 4 ? 3 : null,
    fieldCount: fields.length,
    headerLines: firstIndex,
  };
}

function parseNumber(field: string, name: string, file: string, lineNumber: number): number {
  const text = unquote(field);
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw new DatasetFormatError(file, lineNumber, `the ${name} "${field}" is not a finite number.`);
  }
  return value;
}

function unquote(field: string): string {
  const trimmed = field.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1);
  }
  return trimmed;
}

function describeSeparator(separator: string): string {
  if (separator === '\t') return 'tabs';
  if (separator === ',') return 'commas';
  return `"${separator}"`;
}
