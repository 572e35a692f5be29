import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isPrivateAddress } from '../domain/webhooks.js';

/**
 * Webhooks out (issue 22): the HTTP POST of one delivery to a subscriber's endpoint.
 *
 * The endpoint is the subscriber's, so the sender treats it as hostile ground: no redirect is
 * followed (a 3xx is a failed attempt), the whole exchange is cut off after `timeoutMs`, at most
 * `MAX_EXCERPT` bytes of the answer are read, and, unless private networks are allowed, the
 * connection is refused when the host is or resolves to a loopback, private or link-local address
 * (checked on the address actually dialled, so a DNS answer changed after registration cannot
 * point a delivery at the database or the cloud's metadata service).
 */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface WebhookResponse {
  readonly statusCode: number;
  /** The start of the body the endpoint answered (for its delivery log). */
  readonly excerpt: string;
}

export interface WebhookSender {
  /** Resolves with the endpoint's answer, whatever its status; rejects when there was none (or `signal` cut it off). */
  send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse>;
}

export interface HttpWebhookSenderOptions {
  readonly timeoutMs: number;
  readonly allowPrivateNetworks: boolean;
  /** Plain http:// endpoints (an endpoint registered while they were allowed is refused once they are not). */
  readonly allowHttp: boolean;
}

const MAX_EXCERPT = 1024;

/**
 * The endpoint's host is or resolves to an inside address. The message names neither: it goes to
 * the delivery log a tenant's admin reads, and must not map the inside network for them.
 */
export class NonPublicAddressError extends Error {
  constructor() {
    super("the endpoint's address is not public: refused");
    this.name = 'NonPublicAddressError';
  }
}

export function createHttpWebhookSender(options: HttpWebhookSenderOptions): WebhookSender {
  const guardedLookup = (hostname: string, lookupOptions: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (addresses.some((entry) => isPrivateAddress(entry.address))) return callback(new NonPublicAddressError(), []);
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };

  return {
    send(request, signal) {
      return new Promise<WebhookResponse>((resolve, reject) => {
        const url = new URL(request.url);
        const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
        if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) {
          reject(new Error(`${url.protocol}// endpoints are not allowed`));
          return;
        }
        if (!options.allowPrivateNetworks && isIP(host) !== 0 && isPrivateAddress(host)) {
          reject(new NonPublicAddressError());
          return;
        }
        if (signal?.aborted) {
          reject(new Error('stopped'));
          return;
        }
        const client = url.protocol === 'https:' ? https : http;
        const req = client.request(
          url,
          {
            method: 'POST',
            headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
            agent: false,
            ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            const finish = () => {
              clearTimeout(timer);
              resolve({ statusCode: res.statusCode ?? 0, excerpt: Buffer.concat(chunks).subarray(0, MAX_EXCERPT).toString('utf8') });
            };
            res.on('data', (chunk: Buffer) => {
              if (size >= MAX_EXCERPT) return;
              chunks.push(chunk);
              size += chunk.length;
              // Enough read: the rest of a large answer is not waited for.
              if (size >= MAX_EXCERPT) {
                res.destroy();
                finish();
              }
            });
            // Settles once (later calls are no-ops): on the end, or on a body cut short.
            res.on('end', finish);
            res.on('close', finish);
            res.on('error', () => finish());
          },
        );
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
        const abort = () => req.destroy(new Error('stopped'));
        signal?.addEventListener('abort', abort, { once: true });
        req.on('close', () => signal?.removeEventListener('abort', abort));
        req.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        req.end(request.body);
      });
    },
  };
}
