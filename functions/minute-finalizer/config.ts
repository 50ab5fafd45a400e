import type { Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';

export const finalizerSpec = {
  leaseTtlS: {
    env: 'FINALIZER_LEASE_TTL_S',
    doc: 'Lease that keeps finalizer runs from overlapping across processes (seconds; renewed while a run lasts, a crashed holder blocks runs this long at most)',
    parse: p.int({ min: 3, max: 600 }),
    default: 60,
  } satisfies Setting<number>,
} as const;
