// SVG charts of a simulation report, drawn with Vega-Lite: NDCG@10 per round for each run, and
// NDCG@10 against the cumulative bytes each client sent and received. Runs without rounds
// (local, central, popularity) appear as horizontal reference lines.
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';

/** A Vega-Lite layer, checked by Vega-Lite when the chart is compiled. */
type Layer = Record<string, unknown>;

/** One line of a chart: a run's NDCG@10 after each round, with the bytes a client had exchanged by then. */
export interface RoundSeries {
  run: string;
  points: Array<{ round: number; ndcg10: number; cumulativeBytesPerClient: number }>;
}

/** A run without rounds, drawn as a horizontal rule. */
export interface ReferenceLine {
  run: string;
  ndcg10: number;
}

const WIDTH = 560;
const HEIGHT = 320;

/** NDCG@10 (full ranking, test items) after each round. */
export function ndcgPerRoundChart(series: readonly RoundSeries[], references: readonly ReferenceLine[], title: string): Promise<string> {
  const points = series.flatMap((line) => line.points.map((point) => ({ run: line.run, round: point.round, ndcg10: point.ndcg10 })));
  return renderSvg({
    title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1 } },
          y: { field: 'ndcg10', type: 'quantitative', title: 'NDCG@10 (full ranking, test)' },
          color: { field: 'run', type: 'nominal', title: 'run' },
        },
      },
      ...referenceLayers(references),
    ],
  });
}

/** NDCG@10 against the cumulative bytes one client sent and received, on a log scale. */
export function ndcgAgainstBytesChart(series: readonly RoundSeries[], references: readonly ReferenceLine[], title: string): Promise<string> {
  const points = series.flatMap((line) =>
    line.points.map((point) => ({ run: line.run, mebibytes: point.cumulativeBytesPerClient / 2 ** 20, ndcg10: point.ndcg10 })),
  );
  return renderSvg({
    title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'mebibytes', type: 'quantitative', title: 'MiB sent and received per client (log scale)', scale: { type: 'log' } },
          y: { field: 'ndcg10', type: 'quantitative', title: 'NDCG@10 (full ranking, test)' },
          color: { field: 'run', type: 'nominal', title: 'run' },
        },
      },
      ...referenceLayers(references),
    ],
  });
}

function referenceLayers(references: readonly ReferenceLine[]): Layer[] {
  if (references.length === 0) return [];
  return [
    {
      data: { values: references.map((reference) => ({ ...reference })) },
      mark: { type: 'rule', strokeDash: [4, 4] },
      encoding: {
        y: { field: 'ndcg10', type: 'quantitative' },
        color: { field: 'run', type: 'nominal', title: 'run' },
      },
    },
  ];
}

async function renderSvg(spec: { title: string; width: number; height: number; layer: Layer[] }): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
