import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACTED_PATHS } from '../src/logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink) };
}

describe('log redaction', () => {
  it('never writes authorization headers, signatures, card data, emails or TINs', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer eyJ.secret.sig', 'x-internal-signature': 'deadbeef', host: 'api' } },
        payment: { cardNumber: '4242424242424242', cvc: '123' },
        member: { email: 'friend1@example.com', name: 'Friend 1' },
        recipient: { info: { tin: '123-45-6789', email: 'john@example.com' } },
      },
      'request',
    );
    const line = lines.join('');
    for (const secret of ['eyJ.secret.sig', 'deadbeef', '4242424242424242', '"123"', 'friend1@example.com', '123-45-6789', 'john@example.com']) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('Friend 1');
    expect(line).toContain('"host":"api"');
  });
});
