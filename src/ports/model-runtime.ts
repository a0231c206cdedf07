import type { LoadedModel } from '../domain/manifest';

export type TensorType = 'float32' | 'uint8' | 'int32' | 'int64' | 'bool';

/** A tensor crossing the worker boundary; data is transferred, not copied. */
export interface TensorData {
  type: TensorType;
  dims: number[];
  data: Float32Array | Uint8Array | Int32Array | BigInt64Array;
}

/** Runs ONNX models off the main thread. */
export interface ModelRuntime {
  /** Creates the model's session(s) once; validates the file digest and the declared input/output names. */
  load(model: LoadedModel): Promise<void>;
  /** Runs the model on one input tensor and returns the manifest's output tensor. */
  run(modelId: string, input: TensorData): Promise<TensorData>;
  close(): Promise<void>;
}
