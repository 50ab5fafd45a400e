export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export const minuteOf = (tMs: number): number => Math.floor(tMs / MINUTE_MS) * MINUTE_MS;
export const hourOf = (tMs: number): number => Math.floor(tMs / HOUR_MS) * HOUR_MS;
