import { describe, expect, it } from 'vitest';
import {
  helperOutputForError,
  parseHelperAnswer,
} from '../../../../activities/registry/credentials/helper.ts';

describe('credential helpers: reading the answer', () => {
  it('reads Username and Secret as basic credentials, and "<token>" as an identity token', () => {
    expect(parseHelperAnswer('{"ServerURL":"ghcr.io","Username":"bot","Secret":"pat"}\n')).toEqual({
      kind: 'credentials',
      auth: { type: 'basic', username: 'bot', password: 'pat' },
    });
    expect(parseHelperAnswer('{"Username":"<token>","Secret":"refresh","Extra":1}')).toEqual({
      kind: 'credentials',
      auth: { type: 'identityToken', token: 'refresh' },
    });
  });

  it('calls anything else garbage, saying what is wrong but never quoting it', () => {
    const problem = (stdout: string) => {
      const answer = parseHelperAnswer(stdout);
      return answer.kind === 'garbage' ? answer.problem : 'parsed';
    };
    const prefix = 'the helper printed something that is not its JSON answer';
    expect(problem('')).toBe(`${prefix} (nothing)`);
    expect(problem('Username=bot Secret=hunter2')).toBe(`${prefix} (not JSON)`);
    expect(problem('{"Username":"bot"}')).toMatch(new RegExp(`^${prefix} \\(Secret `));
    expect(problem('{"Username":"bot","Secret":""}')).toBe(`${prefix} (Secret is empty)`);
    expect(problem('{"Username":7,"Secret":"hunter2"}')).not.toContain('hunter2');
    expect(problem('["bot","hunter2"]')).not.toContain('hunter2');
  });
});

describe('credential helpers: their words in errors', () => {
  it('redacts secrets it handed out, assignments and token-like runs, and keeps plain words', () => {
    const text = helperOutputForError(
      'failed for https://123456789012.dkr.ecr.eu-west-1.amazonaws.com: password=hunter2 token: "abc" ' +
        'key ghp_16C7e42F292c6912E7710c838347Ae178B4a, last answer was s3cr3t-value',
      ['s3cr3t-value'],
    );
    expect(text).toBe(
      'failed for https://123456789012.dkr.ecr.eu-west-1.amazonaws.com: password=[redacted] token: "[redacted]" ' +
        'key [redacted], last answer was [redacted]',
    );
  });

  it('collapses whitespace and stops at 500 characters', () => {
    expect(helperOutputForError('  line one\n\n  line two \t', [])).toBe('line one line two');
    const long = helperOutputForError('word '.repeat(200), []);
    expect(long).toHaveLength(501);
    expect(long.endsWith('…')).toBe(true);
  });
});
