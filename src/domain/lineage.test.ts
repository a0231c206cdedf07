import { idempotencyKey } from './identity';
import { resultLineage } from './lineage';

describe('resultLineage', () => {
  const base = { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', modelId: 'brain-mask-2d' };

  it('when a late instance changes the instance set, then the idempotency key changes but the lineage does not', () => {
    const before = { ...base, instanceUids: ['1.2.3.4.1', '1.2.3.4.2'], modelDigest: 'd1' };
    const after = { ...before, instanceUids: [...before.instanceUids, '1.2.3.4.3'] };
    expect(idempotencyKey(after)).not.toBe(idempotencyKey(before));
    expect(resultLineage(after)).toBe(resultLineage(before));
  });

  it('when the model file changes (new version or digest), then the lineage stays: the newer model supersedes', () => {
    const a = { ...base, instanceUids: ['1'], modelDigest: 'd1' };
    const b = { ...a, modelDigest: 'd2' };
    expect(idempotencyKey(b)).not.toBe(idempotencyKey(a));
    expect(resultLineage(b)).toBe(resultLineage(a));
  });

  it('when study, series or model differ, then the lineages differ', () => {
    const l = resultLineage(base);
    expect(resultLineage({ ...base, studyInstanceUid: '1.2.9' })).not.toBe(l);
    expect(resultLineage({ ...base, seriesInstanceUid: '1.2.3.5' })).not.toBe(l);
    expect(resultLineage({ ...base, modelId: 'other' })).not.toBe(l);
    expect(l).toMatch(/^[0-9a-f]{64}$/);
  });
});
