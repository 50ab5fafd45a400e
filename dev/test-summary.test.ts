import { describe, expect, it } from 'vitest';
import { filesFailedToRun } from './test-summary.ts';

describe('test summary', () => {
  it('names files that failed with no failing test, and not files whose tests failed', () => {
    const files = filesFailedToRun({
      testResults: [
        { name: 'a.int.test.ts', status: 'failed', message: 'Hook timed out', assertionResults: [] },
        {
          name: 'b.int.test.ts',
          status: 'failed',
          assertionResults: [{ status: 'failed' }, { status: 'passed' }],
        },
        { name: 'c.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }] },
      ],
    });
    expect(files.map((f) => f.name)).toEqual(['a.int.test.ts']);
  });
});
