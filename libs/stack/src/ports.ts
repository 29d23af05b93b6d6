import { createServer } from 'node:net';

const listenOnce = (host: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });

/** Whether something else already listens on the port (a stack restarting an engine on its own port checks). */
export async function portIsFree(port: number, opts: { allInterfaces?: boolean } = {}): Promise<boolean> {
  for (const host of opts.allInterfaces ? ['127.0.0.1', '0.0.0.0'] : ['127.0.0.1']) {
    try {
      await listenOnce(host, port);
    } catch {
      return false;
    }
  }
  return true;
}

// Ports handed out by this process: the OS may give the same ephemeral port twice once it is closed again, and
// the engines only bind it later, so remember what we already promised to someone.
const handedOut = new Set<number>();

/**
 * A port the OS calls free on 127.0.0.1 (listen on 0, read, close). With allInterfaces it must also be free on
 * 0.0.0.0, for servers that cannot be told which address to bind (DynamoDB Local).
 */
export async function freePort(opts: { allInterfaces?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce('127.0.0.1', 0);
    if (handedOut.has(port)) continue;
    if (opts.allInterfaces) {
      try {
        await listenOnce('0.0.0.0', port);
      } catch {
        continue; // taken on another interface
      }
    }
    handedOut.add(port);
    return port;
  }
  throw new Error('could not find a free TCP port on 127.0.0.1 after 50 attempts');
}

export async function freePorts(n: number, opts: { allInterfaces?: boolean } = {}): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort(opts));
  return ports;
}
