import type { SlidingWindow } from '../domain/manifest';
import type { TensorData } from '../ports/model-runtime';

/** Post-processing done inside the worker so only small label maps cross back to the main thread. */
export type Reduction = 'none' | 'argmax-channels';

/** Where onnxruntime computes: "cuda" is tried and falls back to CPU when the CUDA execution provider is missing. */
export type InferenceDevice = 'cpu' | 'cuda';

/** What the warm-up run at load did: ran on zeros of `shape`, or was skipped for `reason`. */
export interface WarmupReport {
  ran: boolean;
  shape?: number[];
  ms?: number;
  reason?: string;
}

export type WorkerRequest =
  | {
      type: 'load';
      id: number;
      modelId: string;
      modelPath: string;
      inputName: string;
      outputName: string;
      intraOpThreads: number;
      device?: InferenceDevice;
      /** Shape suggested by the manifest for the warm-up run; fills the graph input's symbolic dimensions. */
      warmupShape?: number[];
    }
  | { type: 'run'; id: number; modelId: string; input: TensorData; reduce: Reduction }
  /** Sliding-window inference tiled inside the worker; input [C, D, H, W], output [K, D, H, W] or labels [D, H, W]. */
  | { type: 'run-window'; id: number; modelId: string; input: TensorData; window: SlidingWindow; reduce: Reduction }
  | { type: 'unload'; id: number; modelId: string }
  /** Finish the requests in flight, release every session, answer, then let the thread end by itself. */
  | { type: 'close'; id: number };

export type WorkerResponse =
  | {
      id: number;
      ok: true;
      output?: TensorData;
      inputNames?: string[];
      outputNames?: string[];
      /** load: the execution provider the session uses. */
      provider?: InferenceDevice;
      /** load: why the requested device could not be used. */
      providerFallback?: string;
      warmup?: WarmupReport;
    }
  | { id: number; ok: false; error: { code: string; message: string } };
