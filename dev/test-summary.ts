/**
 * Prints the closing line CI reads, from vitest's JSON report: `tests: N passed, N failed, N skipped`.
 * Exit code: vitest's own (passed through by the caller); this only reports.
 */
import { readFileSync } from 'node:fs';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

const file = process.argv[2] ?? 'test-artifacts/vitest.json';
try {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const skipped = r.numPendingTests + r.numTodoTests;
  if (r.numFailedTestSuites > 0) console.log(`(${r.numFailedTestSuites} test file(s) failed to run)`);
  console.log(
    `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
} catch (err) {
  console.log(`tests: no report at ${file} (${(err as Error).message})`);
}
