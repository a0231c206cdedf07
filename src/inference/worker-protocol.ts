import type { TensorData } from '../ports/model-runtime';

/** Post-processing done inside the worker so only small label maps cross back to the main thread. */
export type Reduction = 'none' | 'argmax-channels';

export type WorkerRequest =
  | { type: 'load'; id: number; modelId: string; modelPath: string; inputName: string; outputName: string; intraOpThreads: number }
  | { type: 'run'; id: number; modelId: string; input: TensorData; reduce: Reduction }
  | { type: 'unload'; id: number; modelId: string };

export type WorkerResponse =
  | { id: number; ok: true; output?: TensorData; inputNames?: string[]; outputNames?: string[] }
  | { id: number; ok: false; error: { code: string; message: string } };
