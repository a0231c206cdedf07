// Generates JSON Schemas for the Kubernetes kinds the chart renders from the kubernetes-types
// package, so manifests can be validated offline (no cluster, no schema download).
// Usage: npx ts-node --transpile-only scripts/k8s-schemas/generate.ts [outDir] [--force]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGenerator, type Schema } from 'ts-json-schema-generator';
import { DEFAULT_SCHEMA_DIR, KNOWN_KINDS, schemaFileName } from './kinds';

const STAMP_FILE = '.generated-from';
const TYPES_ROOT = path.dirname(require.resolve('kubernetes-types/package.json'));

/**
 * The API server accepts quantities written as plain numbers (`cpu: 2`) although the TypeScript
 * type says string; widen it so valid manifests are not rejected.
 */
function widenQuantity(schema: Schema): Schema {
  const quantity = schema.definitions?.['Quantity'];
  if (quantity && typeof quantity === 'object') quantity.type = ['string', 'number'];
  return schema;
}

/** Identifies what the schemas were generated from; a matching stamp lets a rerun skip the work. */
function sourceStamp(): string {
  const version = (pkg: string): string =>
    (JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  const kinds = KNOWN_KINDS.map((k) => `${k.apiVersion}/${k.kind}`).join(',');
  return `kubernetes-types@${version('kubernetes-types')} ts-json-schema-generator@${version('ts-json-schema-generator')} quantity-widened ${kinds}\n`;
}

function upToDate(outDir: string, stamp: string): boolean {
  const stampFile = path.join(outDir, STAMP_FILE);
  if (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp) return false;
  return KNOWN_KINDS.every((k) => fs.existsSync(path.join(outDir, schemaFileName(k.apiVersion, k.kind))));
}

/** Writes one schema file per known kind into outDir; returns false when they were already up to date. */
export function ensureSchemas(outDir: string, force = false): boolean {
  const stamp = sourceStamp();
  if (!force && upToDate(outDir, stamp)) return false;
  generateSchemas(outDir);
  fs.writeFileSync(path.join(outDir, STAMP_FILE), stamp);
  return true;
}

function generateSchemas(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const byFile = new Map<string, typeof KNOWN_KINDS[number][]>();
  for (const k of KNOWN_KINDS) byFile.set(k.typesFile, [...(byFile.get(k.typesFile) ?? []), k]);
  for (const [typesFile, kinds] of byFile) {
    // One generator per declaration file: the TypeScript program is built once and reused.
    const generator = createGenerator({ path: path.join(TYPES_ROOT, typesFile), skipTypeCheck: true, expose: 'export' });
    for (const k of kinds) {
      const schema = widenQuantity(generator.createSchema(k.kind));
      const file = path.join(outDir, schemaFileName(k.apiVersion, k.kind));
      fs.writeFileSync(file, JSON.stringify(schema));
      written.push(file);
    }
  }
  return written;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const outDir = path.resolve(args.find((a) => !a.startsWith('--')) ?? DEFAULT_SCHEMA_DIR);
  const started = Date.now();
  const generated = ensureSchemas(outDir, force);
  console.log(generated
    ? `generated ${KNOWN_KINDS.length} Kubernetes schemas in ${outDir} (${Date.now() - started} ms)`
    : `Kubernetes schemas in ${outDir} are up to date`);
}
