import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitDocuments } from '../../scripts/validate-manifests';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CHART_DIR = path.join(REPO_ROOT, 'helm');
export const HELM = path.join(REPO_ROOT, '.tools', 'helm');
export const RELEASE = 'test';

/** The real helm binary; scripts/fetch-helm.sh is idempotent and fast once it is in place. */
export function ensureHelm(): void {
  if (fs.existsSync(HELM)) return;
  execFileSync(path.join(REPO_ROOT, 'scripts', 'fetch-helm.sh'), { stdio: 'inherit' });
}

/** A rendered Kubernetes object, loosely typed: tests reach into it by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

function helmArgs(valuesFiles: readonly string[], sets: readonly string[]): string[] {
  return [
    'template', RELEASE, CHART_DIR,
    ...valuesFiles.flatMap((f) => ['-f', path.join(REPO_ROOT, f)]),
    ...sets.flatMap((s) => ['--set', s]),
  ];
}

/** Runs `helm template` and returns its output text; throws with helm's message on failure. */
export function renderText(valuesFiles: readonly string[] = [], sets: readonly string[] = []): string {
  return execFileSync(HELM, helmArgs(valuesFiles, sets), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function render(valuesFiles: readonly string[] = [], sets: readonly string[] = []): K8sObject[] {
  return splitDocuments(renderText(valuesFiles, sets)).map((d) => d.value as K8sObject);
}

/** Runs `helm template` expecting failure; returns helm's error output. */
export function renderError(valuesFiles: readonly string[] = [], sets: readonly string[] = []): string {
  const result = spawnSync(HELM, helmArgs(valuesFiles, sets), { encoding: 'utf8' });
  if (result.status === 0) throw new Error(`helm template unexpectedly succeeded for ${valuesFiles.join(', ')} ${sets.join(', ')}`);
  return result.stderr;
}

export function findKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o['kind'] === kind);
}

export function only(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = findKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, got ${found.length}`);
  return found[0] as K8sObject;
}
