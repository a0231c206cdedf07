import * as path from 'node:path';

/** A Kubernetes kind the chart may render, and where its TypeScript type lives in kubernetes-types. */
export interface KubernetesKind {
  apiVersion: string;
  kind: string;
  /** Declaration file inside the kubernetes-types package that exports the type named `kind`. */
  typesFile: string;
}

/** Only the kinds the chart renders (plus Secret, which users may add next to it); anything else is rejected. */
export const KNOWN_KINDS: readonly KubernetesKind[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment', typesFile: 'apps/v1.d.ts' },
  { apiVersion: 'v1', kind: 'Service', typesFile: 'core/v1.d.ts' },
  { apiVersion: 'v1', kind: 'ConfigMap', typesFile: 'core/v1.d.ts' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', typesFile: 'core/v1.d.ts' },
  { apiVersion: 'v1', kind: 'ServiceAccount', typesFile: 'core/v1.d.ts' },
  { apiVersion: 'v1', kind: 'Secret', typesFile: 'core/v1.d.ts' },
];

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_SCHEMA_DIR = path.join(REPO_ROOT, '.tools', 'k8s-schemas');

/** File name of a kind's schema, e.g. `apps-v1-Deployment.json`. */
export function schemaFileName(apiVersion: string, kind: string): string {
  return `${apiVersion.replace(/\//g, '-')}-${kind}.json`;
}
