/**
 * Prints the closing line CI reads, from vitest's JSON report: `tests: N passed, N failed, N skipped`, after
 * the files that failed without a failing test (a beforeAll or an import that threw): those count nowhere else.
 * Exit code: vitest's own (passed through by the caller); this only reports.
 */
import { readFileSync } from 'node:fs';

interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults: { status: string }[];
}

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: FileResult[];
}

/** Files that failed although none of their tests did: their failure is only in the file's message. */
export function filesFailedToRun(r: Pick<Report, 'testResults'>): FileResult[] {
  return r.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  );
}

function main(file: string): void {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
    const skipped = r.numPendingTests + r.numTodoTests;
    for (const f of filesFailedToRun(r)) {
      console.log(`failed to run: ${f.name}: ${(f.message ?? '').split('\n')[0]}`);
    }
    console.log(
      `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
    );
  } catch (err) {
    console.log(`tests: no report at ${file} (${(err as Error).message})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv[2] ?? 'test-artifacts/vitest.json');
