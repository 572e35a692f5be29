import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook subscriber's endpoint in process (issue 22): a real HTTP server that keeps every
 * request it gets and answers each with the next status of its script (200 once the script is
 * used up, or `always` when set).
 */
export interface ReceivedHook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
  readonly at: Date;
}

export interface TestWebhookReceiver {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly received: ReceivedHook[];
  /** The statuses the next requests get, in order. */
  script(...statuses: number[]): void;
  /** Every request gets this status from now on (undefined: back to the script, then 200). */
  always(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<TestWebhookReceiver> {
  const received: ReceivedHook[] = [];
  let scripted: number[] = [];
  let fixed: number | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = fixed ?? scripted.shift() ?? 200;
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status, at: new Date() });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `refused with ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (...statuses) => void (scripted = statuses),
    always: (status) => void (fixed = status),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
