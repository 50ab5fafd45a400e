import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FeedFrame, FeedTrade } from './market.ts';

/**
 * JSON-lines recordings. Each line is either a bare Finnhub frame (`{"type":"trade","data":[...]}`), as one
 * would capture from the live socket, or the envelope the feed writes when it records what it sent:
 * `{"at":<ms since the feed started>,"conn":<connection number>,"frame":{...}}`.
 */
export interface RecordedFrame {
  /** Milliseconds since the recording started (absent in bare-frame files). */
  at?: number;
  conn?: number;
  frame: FeedFrame;
}

const isTrade = (x: unknown): x is FeedTrade =>
  typeof x === 'object' && x !== null && typeof (x as FeedTrade).s === 'string';

/** Parses one line; returns undefined for blank lines, comments and lines that are not trade frames. */
export function parseRecordedLine(line: string): RecordedFrame | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  let x: unknown;
  try {
    x = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof x !== 'object' || x === null) return undefined;
  const o = x as Record<string, unknown>;
  const frame = (o.frame ?? o) as Record<string, unknown>;
  if (frame.type !== 'trade' || !Array.isArray(frame.data)) return undefined;
  const data = frame.data.filter(isTrade).map((d) => ({ ...d, c: d.c ?? null }));
  return {
    ...(typeof o.at === 'number' ? { at: o.at } : {}),
    ...(typeof o.conn === 'number' ? { conn: o.conn } : {}),
    frame: { type: 'trade', data },
  };
}

export async function readRecording(path: string): Promise<RecordedFrame[]> {
  const out: RecordedFrame[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    const rec = parseRecordedLine(line);
    if (rec) out.push(rec);
  }
  return out;
}

/** Appends envelopes to a JSON-lines file; `close()` flushes. */
export class Recorder {
  private readonly out: WriteStream;
  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'a' });
  }
  write(rec: Required<RecordedFrame>): void {
    this.out.write(`${JSON.stringify(rec)}\n`);
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
