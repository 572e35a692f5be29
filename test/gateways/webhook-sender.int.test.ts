import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpWebhookSender, NonPublicAddressError } from '../../src/gateways/webhook-sender.js';

/**
 * The webhook sender against a real HTTP server (issue 22): the subscriber's endpoint is hostile
 * ground, so nothing it answers can make the sender follow it elsewhere, hang, or read without
 * end, and an endpoint on an inside address is never dialled unless private networks are allowed.
 */
describe('the HTTP webhook sender', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/ok': (_req, res) => res.writeHead(204).end(),
    '/echo': (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: req.headers, body })));
    },
    '/redirect': (_req, res) => res.writeHead(302, { location: '/ok' }).end(),
    '/huge': (_req, res) => {
      res.writeHead(500);
      res.end('x'.repeat(5_000_000));
    },
    '/hang': () => undefined,
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      (routes[req.url ?? ''] ?? ((_q, s: ServerResponse) => s.writeHead(404).end()))(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const open = createHttpWebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: true, allowHttp: true });
  const strict = createHttpWebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: false, allowHttp: true });

  it('POSTs the body with the headers given and answers the status and the start of the answer', async () => {
    const answer = await open.send({ url: `${base}/echo`, headers: { 'content-type': 'application/json', 'tessera-signature': 't=1,v1=ab' }, body: '{"id":"e1"}' });
    expect(answer.statusCode).toBe(200);
    const echoed = JSON.parse(answer.excerpt) as { body: string; headers: Record<string, string> };
    expect(echoed.body).toBe('{"id":"e1"}');
    expect(echoed.headers).toMatchObject({ 'tessera-signature': 't=1,v1=ab', 'content-length': '11' });
  });

  it('does not follow a redirect: the 302 is the answer', async () => {
    const before = seen.length;
    expect((await open.send({ url: `${base}/redirect`, headers: {}, body: '{}' })).statusCode).toBe(302);
    expect(seen.slice(before)).toEqual(['/redirect']);
  });

  it('reads at most 1 KiB of a huge answer', async () => {
    const answer = await open.send({ url: `${base}/huge`, headers: {}, body: '{}' });
    expect(answer.statusCode).toBe(500);
    expect(answer.excerpt.length).toBeLessThanOrEqual(1024);
  });

  it('gives up on an endpoint that never answers after its time limit', async () => {
    const started = Date.now();
    await expect(open.send({ url: `${base}/hang`, headers: {}, body: '{}' })).rejects.toThrow(/no answer within 1000 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('never dials a loopback address, by IP or by a name resolving to one, unless private networks are allowed', async () => {
    const before = seen.length;
    const port = new URL(base).port;
    await expect(strict.send({ url: `${base}/ok`, headers: {}, body: '{}' })).rejects.toBeInstanceOf(NonPublicAddressError);
    await expect(strict.send({ url: `http://localhost:${port}/ok`, headers: {}, body: '{}' })).rejects.toBeInstanceOf(NonPublicAddressError);
    await expect(strict.send({ url: `http://[::ffff:127.0.0.1]:${port}/ok`, headers: {}, body: '{}' })).rejects.toBeInstanceOf(NonPublicAddressError);
    expect(seen.slice(before)).toEqual([]);
    expect((await open.send({ url: `http://localhost:${port}/ok`, headers: {}, body: '{}' })).statusCode).toBe(204);
  });

  it('says only that the address is not public: the delivery log never maps the inside network', async () => {
    const error = await strict.send({ url: `${base}/ok`, headers: {}, body: '{}' }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(NonPublicAddressError);
    expect((error as Error).message).not.toMatch(/127\.0\.0\.1|localhost/);
  });

  it('refuses an http:// endpoint once plain http is not allowed, even one registered while it was', async () => {
    const httpsOnly = createHttpWebhookSender({ timeoutMs: 1_000, allowPrivateNetworks: true, allowHttp: false });
    const before = seen.length;
    await expect(httpsOnly.send({ url: `${base}/ok`, headers: {}, body: '{}' })).rejects.toThrow("http:// endpoints are not allowed");
    expect(seen.slice(before)).toEqual([]);
  });

  it('cuts an attempt off when its signal is aborted (the sender stopping)', async () => {
    const stop = new AbortController();
    const pending = open.send({ url: `${base}/hang`, headers: {}, body: '{}' }, stop.signal);
    setTimeout(() => stop.abort(), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow(/stopped/);
    expect(Date.now() - started).toBeLessThan(900);
  });
});
