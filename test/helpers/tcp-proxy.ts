import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Elasticsearch that a test can cut (ES "goes down": listening stops and every open
 * connection is reset) and restore, without touching the shared ES. It can also cut itself when the N-th bulk
 * request starts, which it recognizes by reading the request line, so that only works over plain HTTP.
 */
export class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  bulkRequests = 0;
  /** Cut the link when the N-th bulk request starts (0 = never). */
  cutOnBulk = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('data', (chunk: Buffer) => {
        if (chunk.toString('latin1', 0, 32).includes('/_bulk')) {
          this.bulkRequests++;
          if (this.cutOnBulk > 0 && this.bulkRequests === this.cutOnBulk) {
            this.cut();
            return;
          }
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
  }

  /** ES "goes down": listening stops and every open connection is reset. */
  cut(): void {
    this.server?.close();
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async restore(): Promise<void> {
    this.cutOnBulk = 0;
    await this.start();
  }
}
