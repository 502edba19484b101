// A typed-array UnsortedSegmentSum kernel for the WebAssembly and CPU backends of TensorFlow.js.
//
// The gradient of tf.gather (every embedding lookup) is an UnsortedSegmentSum. tfjs 4.22's
// WebAssembly backend has no kernel for it, and the CPU backend's kernel runs one masked sum per
// segment, which costs O(segments × rows) and takes about a minute per step on a 10,000-row
// embedding table. This kernel adds each row into its segment in one pass: O(rows × rowSize).
import * as tf from '@tensorflow/tfjs';

interface SegmentSumInputs {
  x: tf.TensorInfo;
  segmentIds: tf.TensorInfo;
}

/** The two backend shapes this kernel writes through: the WebAssembly heap or a CPU buffer. */
interface WasmLikeBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap?(info: tf.TensorInfo): tf.backend_util.TypedArray;
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as unknown as SegmentSumInputs;
  const numSegments = Number(args.attrs?.numSegments);
  const backend = args.backend as WasmLikeBackend;

  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum supports float32 and int32 inputs, not ${x.dtype}.`);
  }

  const segmentRank = segmentIds.shape.length;
  const rowShape = x.shape.slice(segmentRank);
  const rowSize = rowShape.reduce((product, size) => product * size, 1);
  const outputShape = [numSegments, ...rowShape];

  const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array;
  const sums = x.dtype === 'float32' ? new Float32Array(numSegments * rowSize) : new Int32Array(numSegments * rowSize);

  for (let row = 0; row < ids.length; row++) {
    const segment = ids[row];
    // Like TensorFlow, rows with an out-of-range segment id are dropped.
    if (segment < 0 || segment >= numSegments) continue;
    const source = row * rowSize;
    const target = segment * rowSize;
    for (let k = 0; k < rowSize; k++) sums[target + k] += values[source + k];
  }

  if (backend.makeOutput && backend.typedArrayFromHeap) {
    const output = backend.makeOutput(outputShape, x.dtype);
    backend.typedArrayFromHeap(output).set(sums);
    return output;
  }
  return backend.makeTensorInfo!(outputShape, x.dtype, sums);
}

/** Registers the kernel for the given backend, replacing a registered one without a warning. */
export function registerScatterAddKernel(backendName: 'wasm' | 'cpu'): void {
  if (tf.getKernel('UnsortedSegmentSum', backendName) !== undefined) {
    tf.unregisterKernel('UnsortedSegmentSum', backendName);
  }
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
