import type { Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';

export const tradeWriterSpec = {
  writeMode: {
    env: 'TRADE_WRITE_MODE',
    doc: 'batch: one unlogged batch per partition; concurrent: one prepared insert per row in parallel',
    parse: p.oneOf('batch', 'concurrent'),
    default: 'batch',
  } satisfies Setting<'batch' | 'concurrent'>,
} as const;
