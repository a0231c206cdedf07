/**
 * The worked examples in docs/models.md are real manifests: every ```json manifest block must pass the schema and the
 * loader's rules, so the documentation cannot drift from what the service accepts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manifestProblems } from './registry';

const DOC = path.resolve(__dirname, '../../docs/models.md');

/** The bodies of fenced blocks whose info string is "json manifest", in order. */
function manifestBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const fence = /^```json manifest[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(markdown); m !== null; m = fence.exec(markdown)) blocks.push(m[1] ?? '');
  return blocks;
}

describe('docs/models.md worked examples', () => {
  const blocks = manifestBlocks(readFileSync(DOC, 'utf8'));

  it('when the docs are read, then they hold the three worked examples (MONAI, nnU-Net, TorchXRayVision)', () => {
    const ids = blocks.map((b) => (JSON.parse(b) as { id: string }).id);
    expect(ids).toEqual(['spleen-ct-monai', 'liver-ct-nnunet', 'cxr-densenet-xrv']);
  });

  it.each(blocks.map((b, idx) => [idx, b] as const))('when example %i is validated, then the schema and loader rules accept it', (_idx, block) => {
    expect(manifestProblems(JSON.parse(block))).toEqual({ valid: true, problems: [] });
  });

  it('when a block is broken, then the extraction still finds it and validation fails', () => {
    const md = 'text\n```json manifest\n{ "id": "x" }\n```\nmore\n```json\n{ "not": "a manifest" }\n```\n';
    const found = manifestBlocks(md);
    expect(found).toHaveLength(1);
    expect(manifestProblems(JSON.parse(found[0] as string)).valid).toBe(false);
  });
});
