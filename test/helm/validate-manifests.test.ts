import * as path from 'node:path';
import { ensureSchemas } from '../../scripts/k8s-schemas/generate';
import { DEFAULT_SCHEMA_DIR } from '../../scripts/k8s-schemas/kinds';
import { ManifestValidator, splitDocuments } from '../../scripts/validate-manifests';
import { REPO_ROOT, ensureHelm, renderText } from './render';

const CONFIG_SCHEMA = path.join(REPO_ROOT, 'config', 'config.schema.json');

let validator: ManifestValidator;

beforeAll(() => {
  ensureHelm();
  // Generated once (about 10 s) and then reused while kubernetes-types is unchanged.
  ensureSchemas(DEFAULT_SCHEMA_DIR);
  validator = new ManifestValidator(DEFAULT_SCHEMA_DIR, CONFIG_SCHEMA);
});

const CONFIG_MAP = `---
# Source: chart/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  config.json: |
    {"pacs": "none", "dataDir": "/data"}
`;

describe('validate-manifests', () => {
  it.each([[[]], [['helm/ci/external-services-values.yaml']], [['helm/ci/existing-claims-values.yaml']], [['helm/ci/models-image-values.yaml']]])(
    'when the chart is rendered with %j, then every document is valid',
    (valuesFiles: string[]) => {
      expect(validator.validateText(renderText(valuesFiles))).toEqual([]);
    },
  );

  it('when a valid ConfigMap is given, then no problem is reported', () => {
    expect(validator.validateText(CONFIG_MAP)).toEqual([]);
  });

  it('when a field is unknown or has the wrong type, then each is reported with its path and source', () => {
    const text = CONFIG_MAP.replace('  name: cm', '  name: cm\n  lables: {}').replace('\ndata:', '\nimmutable: "yes"\ndata:');
    const problems = validator.validateText(text);
    expect(problems.map((p) => p.message).sort()).toEqual(['/immutable: must be boolean', '/metadata: unknown field "lables"']);
    expect(problems[0]).toMatchObject({ source: 'chart/templates/configmap.yaml', object: 'v1/ConfigMap cm' });
  });

  it('when the input is not YAML, then one problem says so', () => {
    expect(validator.validateText('a: [\n').map((p) => p.message)).toEqual([expect.stringContaining('not valid YAML')]);
  });

  it('when a kind is not one the chart renders, then it is rejected as unknown', () => {
    const problems = validator.validateText('apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain('unknown kind batch/v1/Job');
  });

  it('when metadata.name or kind is missing, then the document is rejected', () => {
    expect(validator.validateText('apiVersion: v1\nkind: Service\nmetadata: {}\n').map((p) => p.message))
      .toContain('metadata.name is required');
    expect(validator.validateText('apiVersion: v1\nmetadata:\n  name: x\n').map((p) => p.message))
      .toEqual(['apiVersion and kind must be strings']);
  });

  it('when a resource quantity is a plain number, then it is accepted as the API server does', () => {
    const service = renderText(['helm/ci/existing-claims-values.yaml']);
    expect(service).toMatch(/cpu: 2\n/);
    expect(validator.validateText(service)).toEqual([]);
  });

  it('when the embedded service config breaks config/config.schema.json, then the ConfigMap is rejected', () => {
    const problems = validator.validateText(CONFIG_MAP.replace('"pacs": "none"', '"pacs": "ftp://x", "bogus": 1'));
    expect(problems.map((p) => p.message).sort()).toEqual([
      'data.config.json (root): unknown field "bogus"',
      'data.config.json /pacs: must match pattern "^(none|orthanc:https?://.+|dicomweb:https?://.+)$"',
    ]);
  });

  it('when documents are split, then empty documents are dropped and helm source comments are kept', () => {
    const docs = splitDocuments(`---\n# Source: a.yaml\nkind: A\n---\n---\n# only a comment\n---\nkind: B\n`);
    expect(docs).toEqual([
      { source: 'a.yaml', value: { kind: 'A' } },
      { source: 'document #5', value: { kind: 'B' } },
    ]);
  });
});
