// `npm run docs`: refreshes the generated tables in the READMEs.
import { readFileSync, writeFileSync } from 'node:fs';
import { documentedFiles } from './files.ts';
import { renderGenerated } from './tables.ts';

for (const file of documentedFiles()) {
  const text = readFileSync(file, 'utf8');
  const next = renderGenerated(text);
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`updated ${file}`);
  }
}
