import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Paths whose values never reach a log line: credentials, card data and personal data.
 * Wildcards cover the same field at any nesting that pino's redaction syntax can reach.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-internal-signature"]',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.cardNumber',
  '*.card_number',
  '*.cvc',
  '*.cvv',
  '*.email',
  '*.tin',
  '*.ssn',
  '*.*.email',
  '*.*.tin',
  'connectionString',
  'url',
];

export function createLogger(options: { level: string; name?: string; pretty?: boolean; destination?: pino.DestinationStream }): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name ?? 'tessera',
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
