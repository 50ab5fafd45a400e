import { type Env, loadConfig, type Setting } from '../shared/config/env.ts';
import * as p from '../shared/config/parsers.ts';
import { PRICE_MOVE_DEFAULTS, type PriceMoveConfig } from './catalogue.ts';

/** Settings of `npm run alerts:generate` (the checked-in files are rendered with the defaults). */
export const alertSpec = {
  pct: {
    env: 'ALERT_PRICE_MOVE_PCT',
    doc: 'Price-move alert (Grafana): fire when a symbol moves more than this many percent within the window',
    parse: p.num({ min: 0.01, max: 100 }),
    default: PRICE_MOVE_DEFAULTS.pct,
  } satisfies Setting<number>,
  windowS: {
    env: 'ALERT_PRICE_MOVE_WINDOW_S',
    doc: 'Price-move alert (Grafana): the window the move is measured over (seconds, whole minutes)',
    parse: (raw: string) => {
      const s = p.int({ min: 60, max: 86_400 })(raw);
      if (s % 60 !== 0) throw new Error('must be a whole number of minutes');
      return s;
    },
    default: PRICE_MOVE_DEFAULTS.windowS,
  } satisfies Setting<number>,
};

export const loadAlertConfig = (env: Env = process.env): PriceMoveConfig => loadConfig(alertSpec, env);
