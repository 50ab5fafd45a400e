import { describe, expect, it } from 'vitest';
import { cpuMeter, cpuMsPer1000, listeningInodes, pidListeningOn, ratio } from './proc-cpu.ts';

// Lines of /proc/net/tcp6 and /proc/net/tcp as Linux prints them (from a machine running the local runtime:
// Kafka on 30092/30093, a connected socket in state 06).
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:758D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42996 1 00000000db55de5b 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:758C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 47209 1 00000000f212b5ae 100 0 0 10 0
`;
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 639 1 00000000fda8e13c 100 0 0 10 0
   1: 0100007F:758C 0100007F:BC94 06 00000000:00000000 03:00000D03 00000000     0        0 0 3 00000000aba7e643
`;

describe('CPU per trade', () => {
  it('turns CPU seconds and a trade count into CPU-ms per 1,000 trades', () => {
    // 1.5 CPU-s for 30,000 trades = 0.05 ms per trade = 50 ms per 1,000.
    expect(cpuMsPer1000(1.5, 30_000)).toBe(50);
    expect(cpuMsPer1000(0.123, 1000)).toBe(123);
    expect(cpuMsPer1000(0.01, 3)).toBe(3333.3);
    expect(cpuMsPer1000(1, 0)).toBeNaN();
  });

  it('ratios round to two decimals and refuse a zero or missing floor', () => {
    expect(ratio(600, 1000)).toBe(0.6);
    expect(ratio(2, 3)).toBe(0.67);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(1, Number.NaN)).toBeNaN();
  });

  it('meters processes by pid; a pid that is gone reads NaN', () => {
    const meter = cpuMeter({ self: process.pid, gone: 2 ** 22 + 12_345 });
    meter.start();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const r = meter.stop(1000);
    expect(r.self!.cpuS).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(r.self!.msPer1000Trades)).toBe(true);
    expect(r.gone!.cpuS).toBeNaN();
  });
});

describe('listening sockets', () => {
  it('finds the LISTEN inodes of a port in tcp and tcp6 tables, not connected sockets', () => {
    expect(listeningInodes(TCP6, 30092)).toEqual(['47209']);
    expect(listeningInodes(TCP6, 30093)).toEqual(['42996']);
    expect(listeningInodes(TCP, 30092)).toEqual([]);
    expect(listeningInodes(TCP, 2024)).toEqual(['639']);
    expect(listeningInodes('', 1)).toEqual([]);
  });

  it('finds the pid of a server this process runs', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      expect(pidListeningOn(port)).toBe(process.pid);
    } finally {
      server.close();
    }
  });
});
