// Chooses the TensorFlow.js backend once per process: the native `tensorflow` backend from
// @tensorflow/tfjs-node when it is installed (its install step downloads libtensorflow and fails
// without network access), else the WebAssembly backend with the scatter-add kernel it lacks.
import { createRequire } from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { registerScatterAddKernel } from './scatter-add-kernel.js';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<string> | null = null;

/**
 * Loads and selects a backend, and returns its name. `auto` tries tensorflow, then wasm.
 * The environment variable DISTILLATE_TF_BACKEND overrides `auto`.
 */
export function initializeTensorFlow(preference: BackendPreference = 'auto'): Promise<string> {
  chosen ??= selectBackend(preferenceFromEnvironment(preference));
  return chosen;
}

function preferenceFromEnvironment(preference: BackendPreference): BackendPreference {
  const fromEnvironment = process.env.DISTILLATE_TF_BACKEND;
  if (preference !== 'auto' || fromEnvironment === undefined || fromEnvironment === '') return preference;
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(fromEnvironment)) {
    throw new Error(
      `DISTILLATE_TF_BACKEND is "${fromEnvironment}"; expected auto, tensorflow, wasm or cpu.`,
    );
  }
  return fromEnvironment as BackendPreference;
}

async function selectBackend(preference: BackendPreference): Promise<string> {
  if (preference === 'auto' || preference === 'tensorflow') {
    const loaded = await loadNativeBackend();
    if (loaded) return useBackend('tensorflow');
    if (preference === 'tensorflow') {
      throw new Error(
        'The tensorflow backend was requested but @tensorflow/tfjs-node is not installed. ' +
          'Install it where its native library can be downloaded, or choose wasm.',
      );
    }
  }

  if (preference === 'cpu') {
    registerScatterAddKernel('cpu');
    return useBackend('cpu');
  }

  const require = createRequire(import.meta.url);
  const wasmDirectory = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep);
  setWasmPaths(wasmDirectory);
  registerScatterAddKernel('wasm');
  registerScatterAddKernel('cpu');
  return useBackend('wasm');
}

async function loadNativeBackend(): Promise<boolean> {
  try {
    // A variable specifier keeps bundlers and the type checker from requiring the optional package.
    const nativeBackend = '@tensorflow/tfjs-node';
    await import(nativeBackend);
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function useBackend(name: string): Promise<string> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`TensorFlow.js could not initialise its ${name} backend.`);
  await tf.ready();
  return tf.getBackend();
}
