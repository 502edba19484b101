// The datasets that `distillate data` can list, download and locate. Only datasets whose files
// have known SHA-256 checksums are listed, because every download is verified against them.
import { BUILT_IN_DATASETS } from './built-in-datasets.js';

/** One file that a dataset keeps from its archive, with the SHA-256 of its extracted bytes. */
export interface DatasetFile {
  /** File name inside the archive's top folder, and inside the dataset's folder. */
  name: string;
  /** Lower-case hexadecimal SHA-256 of the extracted file. */
  sha256: string;
}

export interface CatalogDataset {
  /** Short name used on the command line, such as `ml-100k`; also the folder name in the cache. */
  id: string;
  name: string;
  /** Counts of ratings, users and items, for people choosing a dataset. */
  size: string;
  /** One-line summary of the licence; the dataset's README has the full terms. */
  licence: string;
  /** Zip archive published by the dataset's maintainers. */
  archiveUrl: string;
  /** Folder inside the archive that contains the files, without a trailing slash. */
  archiveFolder: string;
  /** Absolute folder of a copy shipped in this repository, or null when it must be downloaded. */
  builtInFolder: string | null;
  /** Files kept after extraction; every other file in the archive is skipped. */
  files: readonly DatasetFile[];
}

export const DATASET_CATALOG: readonly CatalogDataset[] = [
  {
    id: 'ml-latest-small',
    name: 'MovieLens Latest Small (GroupLens, 2018)',
    size: '100,836 ratings, 610 users, 9,742 movies',
    licence: 'research use, no commercial use without permission; redistribution allowed under the same terms',
    archiveUrl: 'https://files.grouplens.org/datasets/movielens/ml-latest-small.zip',
    archiveFolder: 'ml-latest-small',
    builtInFolder: BUILT_IN_DATASETS['ml-latest-small'],
    files: [
      { name: 'ratings.csv', sha256: 'aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646' },
      { name: 'movies.csv', sha256: '5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07' },
      { name: 'links.csv', sha256: '97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31' },
      { name: 'tags.csv', sha256: '92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d' },
      { name: 'README.txt', sha256: 'caa1eb1d1d113578e9dbb36b37398404e00f379492b7aa31df0b30c855017095' },
    ],
  },
  {
    id: 'ml-100k',
    name: 'MovieLens 100K (GroupLens)',
    size: '100,000 ratings, 943 users, 1,682 movies',
    // The licence forbids redistribution without permission, so each user downloads it.
    licence: 'research use only, no redistribution without permission',
    archiveUrl: 'https://files.grouplens.org/datasets/movielens/ml-100k.zip',
    archiveFolder: 'ml-100k',
    builtInFolder: null,
    files: [
      { name: 'u.data', sha256: '06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490' },
      { name: 'u.item', sha256: '553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701' },
      { name: 'u.user', sha256: 'f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c' },
      { name: 'u.genre', sha256: '9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb' },
      { name: 'u.occupation', sha256: 'cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d' },
      { name: 'u.info', sha256: '5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b' },
      { name: 'README', sha256: '4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52' },
    ],
  },
];

/** Returns the dataset with this id, or throws an error that lists the known ids. */
export function findCatalogDataset(
  id: string,
  catalog: readonly CatalogDataset[] = DATASET_CATALOG,
): CatalogDataset {
  const dataset = catalog.find((entry) => entry.id === id);
  if (dataset === undefined) {
    const known = catalog.map((entry) => entry.id).join(', ');
    throw new Error(
      `Unknown dataset "${id}". Known datasets: ${known}. Run \`distillate data list\` for their details.`,
    );
  }
  return dataset;
}
