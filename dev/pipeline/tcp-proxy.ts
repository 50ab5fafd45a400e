import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** While down, open connections are reset and new ones are refused (closed at once). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** A loopback TCP relay, for fault tests that make a real server unreachable without stopping it. */
export function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    pairs.add(client);
    pairs.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
      pairs.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        setDown(value) {
          down = value;
          if (value) for (const s of pairs) s.destroy();
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of pairs) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
