import { incompleteReason } from './push-transfer';

describe('incompleteReason', () => {
  it.each<[string, Parameters<typeof incompleteReason>[0], string | undefined]>([
    ['every instance stored and the body ended', { kind: 'STOW-RS request', failedOutOfResources: 0 }, undefined],
    ['38 instances refused for lack of disk', { kind: 'STOW-RS request', failedOutOfResources: 38 }, '38 instances of a STOW-RS request were not stored (out of resources); re-send the study'],
    ['one instance refused', { kind: 'C-STORE association', failedOutOfResources: 1 }, '1 instance of a C-STORE association was not stored (out of resources); re-send the study'],
    ['the body ended early', { kind: 'STOW-RS request', failedOutOfResources: 0, cutShort: 'ended before its closing boundary' }, 'a STOW-RS request ended before its closing boundary; re-send the study'],
    [
      'instances refused and then the association aborted',
      { kind: 'C-STORE association', failedOutOfResources: 3, cutShort: 'was aborted' },
      '3 instances of a C-STORE association were not stored (out of resources) and it was aborted; re-send the study',
    ],
  ])('when %s, then %p', (_what, summary, expected) => {
    expect(incompleteReason(summary)).toBe(expected);
  });
});
