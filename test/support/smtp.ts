import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message as the test SMTP server received it: the envelope and the raw message, decoded for reading. */
export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: string;
  /** A header's value (the first one of that name), unfolded. */
  header(name: string): string | undefined;
  /** The whole message with quoted-printable soft breaks and escapes undone, for searching. */
  readonly decoded: string;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly url: string;
  readonly received: ReceivedMail[];
  /** From now on every message is refused with `code` (451: try later, 550: refused), or accepted again (undefined). */
  refuseWith(code: 451 | 550 | undefined): void;
  /** How many messages were refused so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** A real SMTP server on a random local port (no TLS, no authentication), keeping what arrives. */
export async function startTestSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  let refusal: 451 | 550 | undefined;
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (refusal) {
          refused++;
          callback(Object.assign(new Error(refusal === 451 ? 'try again later' : 'message refused'), { responseCode: refusal }));
          return;
        }
        const envelope = session.envelope;
        received.push(parse(Buffer.concat(chunks).toString('utf8'), envelope.mailFrom ? envelope.mailFrom.address : '', envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseWith(code) {
      refusal = code;
    },
    get refused() {
      return refused;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parse(raw: string, from: string, to: string[]): ReceivedMail {
  const head = raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = head.split(/\r?\n/).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as const);
  const decoded = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return { from, to, raw, decoded, header: (name) => headers.find(([key]) => key === name.toLowerCase())?.[1] };
}
