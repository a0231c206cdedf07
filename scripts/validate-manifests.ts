// Validates rendered Kubernetes manifests (e.g. `helm template` output) against JSON Schemas
// generated from kubernetes-types, offline. Unknown apiVersion/kind pairs are errors.
// With --config-schema, the service config file a ConfigMap carries (data["config.json"]) is
// validated too, so chart values cannot drift from what the service accepts.
// Usage: npx ts-node --transpile-only scripts/validate-manifests.ts [--schemas dir] [--config-schema file]
//        <file.yaml|-> ...
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as yaml from 'js-yaml';
import { DEFAULT_SCHEMA_DIR, KNOWN_KINDS, schemaFileName } from './k8s-schemas/kinds';

export interface ManifestProblem {
  /** Where the document came from, e.g. `clinical-ai/templates/deployment.yaml` or `doc #3`. */
  source: string;
  /** `apiVersion/kind name` when known. */
  object: string;
  message: string;
}

export interface ParsedDocument {
  source: string;
  value: unknown;
}

/** ConfigMap key holding the service's config file. */
export const CONFIG_KEY = 'config.json';

const SOURCE_COMMENT = /^# Source: (.+)$/m;

/** Splits a multi-document YAML stream, dropping empty documents, and remembers helm's `# Source:` comment. */
export function splitDocuments(text: string): ParsedDocument[] {
  const docs: ParsedDocument[] = [];
  const chunks = text.split(/^---[ \t]*$/m);
  chunks.forEach((chunk, index) => {
    const value = yaml.load(chunk);
    if (value === undefined || value === null) return;
    docs.push({ source: SOURCE_COMMENT.exec(chunk)?.[1] ?? `document #${index + 1}`, value });
  });
  return docs;
}

function describeError(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    return `${at}: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  if (e.keyword === 'enum') {
    return `${at}: ${e.message ?? 'invalid'} (${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)})`;
  }
  return `${at}: ${e.message ?? 'invalid'}`;
}

export class ManifestValidator {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly validateConfig: ValidateFunction | undefined;

  /**
   * @param schemaDir directory written by scripts/k8s-schemas/generate.ts
   * @param configSchemaFile JSON Schema of the service config; when given, ConfigMaps' config.json is checked
   */
  constructor(private readonly schemaDir: string = DEFAULT_SCHEMA_DIR, configSchemaFile?: string) {
    if (configSchemaFile) {
      this.validateConfig = this.ajv.compile(JSON.parse(fs.readFileSync(configSchemaFile, 'utf8')) as object);
    }
  }

  private configProblems(record: Record<string, unknown>): string[] {
    if (!this.validateConfig || record['kind'] !== 'ConfigMap') return [];
    const text = (record['data'] as Record<string, unknown> | undefined)?.[CONFIG_KEY];
    if (typeof text !== 'string') return [];
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      return [`data.${CONFIG_KEY} is not valid JSON: ${(err as Error).message}`];
    }
    if (this.validateConfig(config)) return [];
    return (this.validateConfig.errors ?? []).map((e) => `data.${CONFIG_KEY} ${describeError(e)}`);
  }

  private validatorFor(apiVersion: string, kind: string): ValidateFunction | undefined {
    const key = `${apiVersion}/${kind}`;
    const cached = this.validators.get(key);
    if (cached) return cached;
    if (!KNOWN_KINDS.some((k) => k.apiVersion === apiVersion && k.kind === kind)) return undefined;
    const file = path.join(this.schemaDir, schemaFileName(apiVersion, kind));
    if (!fs.existsSync(file)) {
      throw new Error(`schema ${file} is missing; run scripts/k8s-schemas/generate.ts first`);
    }
    const validate = this.ajv.compile(JSON.parse(fs.readFileSync(file, 'utf8')) as object);
    this.validators.set(key, validate);
    return validate;
  }

  /** Returns every problem found in the YAML stream; an empty list means all documents are valid. */
  validateText(text: string): ManifestProblem[] {
    let docs: ParsedDocument[];
    try {
      docs = splitDocuments(text);
    } catch (err) {
      return [{ source: 'input', object: '?', message: `not valid YAML: ${(err as Error).message}` }];
    }
    return docs.flatMap((doc) => this.validateDocument(doc));
  }

  validateDocument(doc: ParsedDocument): ManifestProblem[] {
    const value = doc.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return [{ source: doc.source, object: '?', message: 'document is not a YAML mapping' }];
    }
    const record = value as Record<string, unknown>;
    const { apiVersion, kind } = record;
    const name = (record['metadata'] as { name?: unknown } | undefined)?.name;
    const object = `${String(apiVersion)}/${String(kind)} ${typeof name === 'string' ? name : '(unnamed)'}`;
    const problems: ManifestProblem[] = [];
    // The generated types make these optional; a manifest applied to a cluster needs them.
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
      return [{ source: doc.source, object, message: 'apiVersion and kind must be strings' }];
    }
    if (typeof name !== 'string' || name === '') {
      problems.push({ source: doc.source, object, message: 'metadata.name is required' });
    }
    const validate = this.validatorFor(apiVersion, kind);
    if (!validate) {
      const known = KNOWN_KINDS.map((k) => `${k.apiVersion}/${k.kind}`).join(', ');
      return [...problems, { source: doc.source, object, message: `unknown kind ${apiVersion}/${kind} (known: ${known})` }];
    }
    if (!validate(value)) {
      for (const e of validate.errors ?? []) problems.push({ source: doc.source, object, message: describeError(e) });
    }
    for (const message of this.configProblems(record)) problems.push({ source: doc.source, object, message });
    return problems;
  }
}

export function formatProblems(problems: readonly ManifestProblem[]): string {
  return problems.map((p) => `  ${p.source} [${p.object}]: ${p.message}`).join('\n');
}

function main(argv: string[]): number {
  let schemaDir = DEFAULT_SCHEMA_DIR;
  let configSchema: string | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--schemas') schemaDir = path.resolve(argv[++i] ?? '');
    else if (arg === '--config-schema') configSchema = path.resolve(argv[++i] ?? '');
    else inputs.push(arg);
  }
  if (inputs.length === 0) inputs.push('-');
  const validator = new ManifestValidator(schemaDir, configSchema);
  let failed = false;
  for (const input of inputs) {
    const text = fs.readFileSync(input === '-' ? 0 : input, 'utf8');
    const label = input === '-' ? 'stdin' : input;
    const documents = splitDocuments(text).length;
    const problems = validator.validateText(text);
    if (problems.length > 0) {
      failed = true;
      console.error(`FAIL ${label}: ${problems.length} problem(s)\n${formatProblems(problems)}`);
    } else {
      console.log(`ok   ${label}: ${documents} document(s) valid`);
    }
  }
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
