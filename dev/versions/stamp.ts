// `npm run versions`: stamps the pins of versions.yaml into knative/ (see dev/versions/versions.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../deploy/bundle.ts';
import { stampedChanges } from './versions.ts';

for (const [file, text] of stampedChanges()) {
  writeFileSync(join(repoRoot, file), text);
  console.log(`updated ${file}`);
}
