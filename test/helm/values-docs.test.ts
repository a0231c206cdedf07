import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { CHART_DIR } from './render';

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
const values = yaml.load(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const readme = fs.readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');

function undescribed(node: SchemaNode, at: string): string[] {
  const own = node.description?.trim() ? [] : [at || '(root)'];
  const children = Object.entries(node.properties ?? {}).flatMap(([k, child]) => undescribed(child, at ? `${at}.${k}` : k));
  return [...own, ...children];
}

/** Value paths down to where the schema stops describing sub-keys (pass-through objects such as resources). */
function documentedPaths(value: unknown, node: SchemaNode | undefined, at: string): string[] {
  const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isMap || !node?.properties || Object.keys(value).length === 0) return [at];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    documentedPaths(v, node.properties?.[k], at ? `${at}.${k}` : k));
}

describe('chart values documentation', () => {
  it('when values.schema.json is read, then every key has a description', () => {
    expect(undescribed(schema, '')).toEqual([]);
  });

  it('when values.yaml is read, then every value is described in values.schema.json and listed in helm/README.md', () => {
    const paths = documentedPaths(values, schema, '');
    expect(paths.length).toBeGreaterThan(40);
    const notInSchema = paths.filter((p) => {
      let node: SchemaNode | undefined = schema;
      for (const k of p.split('.')) node = node?.properties?.[k];
      return node === undefined;
    });
    expect(notInSchema).toEqual([]);
    expect(paths.filter((p) => !readme.includes(`\`${p}\``))).toEqual([]);
  });
});
