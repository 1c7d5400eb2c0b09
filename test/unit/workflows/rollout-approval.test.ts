import { describe, expect, it } from 'vitest';
import { formatDuration, refusalReason } from '../../../workflows/rollout-approval.ts';

describe('refusalReason', () => {
  const pending = { stage: 'production', approvers: ['alice', 'bob'] };

  it('accepts a listed approver, with or without surrounding spaces', () => {
    expect(refusalReason({ decision: 'approve', by: 'alice' }, pending)).toBeUndefined();
    expect(refusalReason({ decision: 'reject', by: ' bob ' }, pending)).toBeUndefined();
  });

  it('accepts anyone when the stage lists no approvers', () => {
    expect(refusalReason({ decision: 'approve', by: 'carol' }, { stage: 'production' })).toBeUndefined();
    expect(
      refusalReason({ decision: 'approve', by: 'carol' }, { stage: 'production', approvers: [] }),
    ).toBeUndefined();
  });

  it('refuses someone not on the list and names the list', () => {
    expect(refusalReason({ decision: 'approve', by: 'mallory' }, pending)).toBe(
      '"mallory" may not decide on stage production (approvers: alice, bob)',
    );
  });

  it('refuses when nothing is pending', () => {
    expect(refusalReason({ decision: 'approve', by: 'alice' }, undefined)).toBe(
      'no approval is pending for this rollout right now',
    );
  });

  it('refuses a decision without a name or with an unknown verb', () => {
    expect(refusalReason({ decision: 'approve', by: '  ' }, pending)).toMatch(/say who decides/);
    expect(refusalReason({ decision: 'approve' } as never, pending)).toMatch(/say who decides/);
    expect(refusalReason({ decision: 'maybe', by: 'alice' } as never, pending)).toBe(
      'decision must be "approve" or "reject", not "maybe"',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [3_000, '3s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [86_400_000 + 61_000, '1d1m1s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
