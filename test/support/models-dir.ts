import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** A fresh models folder holding copies of the bundled models named (manifest and ONNX file), for one test. */
export function bundledModelsDir(prefix: string, modelIds: readonly string[] = ['brain-mask-2d']): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  for (const id of modelIds) {
    mkdirSync(path.join(dir, id));
    for (const f of ['manifest.json', 'model.onnx']) cpSync(path.join(ROOT, 'models', id, f), path.join(dir, id, f));
  }
  return dir;
}
