import { z } from 'zod';
import { SERVICES_WITH_WRITES } from './domain/access.js';

/**
 * Every setting Tessera reads from the environment, parsed once at start. Nothing else in the
 * code reads `process.env`; the composition root passes the parsed config down.
 */
const optionalUrl = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine(
      (value) => value === undefined || protocols.some((p) => value.startsWith(`${p}://`)),
      { message: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}` },
    );

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const optionalText = <T extends z.ZodType<string | undefined, string | undefined>>(schema: T) =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value))
    .pipe(schema.optional());

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item !== ''));

// A PEM put in an environment variable often arrives with its newlines escaped as "\n".
const pemPublicKey = z
  .string()
  .transform((value) => value.replaceAll('\\n', '\n').trim())
  .refine((value) => value.startsWith('-----BEGIN PUBLIC KEY-----') && value.endsWith('-----END PUBLIC KEY-----'), {
    message: 'must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)',
  });

// A JSON object in one variable (per-venue rules); a parse failure names the variable like any other.
const jsonObject = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .default('{}')
    .transform((value, context) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const bps = (fallback: number, max = 10_000) => integer(fallback, 0, max);

export const resaleVenueRule = z
  .object({
    maxPriceBps: z.number().int().min(0).max(1_000_000).optional(),
    minPriceBps: z.number().int().min(0).max(10_000).optional(),
    venueRoyaltyBps: z.number().int().min(0).max(10_000).optional(),
    artistRoyaltyBps: z.number().int().min(0).max(10_000).optional(),
    artistId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/).optional(),
  })
  .strict();

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: integer(3005, 0, 65_535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  DATABASE_POOL_SIZE: integer(20, 1, 500),
  EVENTSTORE_URL: optionalUrl(['esdb', 'esdb+discover', 'kurrentdb', 'kurrentdb+discover', 'kurrent', 'kurrent+discover']),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  REDIS_KEY_PREFIX: z.string().min(1).default('tessera:'),

  // HTTP edge
  // Which X-Forwarded-For hops to believe for the client address: false (none), a number of
  // proxies in front (1 behind one load balancer), or their addresses or CIDRs. `true` believes
  // the leftmost hop, which any client can write: fraud limits per address are then worthless.
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value): boolean | number | string => {
      const v = value.trim();
      if (v === 'false' || v === '0' || v === '') return false;
      if (v === 'true') return true;
      return /^\d+$/.test(v) ? Number(v) : v;
    }),
  BODY_LIMIT_BYTES: integer(102_400, 1_024, 10_485_760),
  SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 300_000),
  // Slow clients (issue 17): a request must arrive whole within REQUEST_TIMEOUT_MS of its first
  // byte, and its headers within HEADERS_TIMEOUT_MS, or it is answered 408 and cut off.
  REQUEST_TIMEOUT_MS: integer(30_000, 100, 600_000),
  HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000),

  // Authentication: a bearer JWT verified with an RS256 public key and/or an HS256 secret.
  JWT_PUBLIC_KEY: optionalText(pemPublicKey),
  JWT_SECRET: optionalText(z.string().min(32, 'must be at least 32 characters (256 bits)')),
  JWT_ISSUER: optionalText(z.string()),
  JWT_AUDIENCE: optionalText(z.string()),
  // Service-to-service calls are signed with HMAC-SHA256: under the calling service's own secret
  // when INTERNAL_SERVICE_SECRETS names one, else under the shared INTERNAL_SERVICE_SECRET.
  INTERNAL_SERVICE_SECRET: optionalText(z.string().min(32, 'must be at least 32 characters (256 bits)')),
  INTERNAL_SERVICE_SECRETS: jsonObject(z.record(z.string().min(1), z.string().min(32, 'each secret must be at least 32 characters (256 bits)'))),
  INTERNAL_SERVICES: list('ticket-service,order-service,venue-service,marketplace-service,notification-service'),
  // How far a signed call's timestamp may be from our clock; each nonce is kept twice as long.
  INTERNAL_SIGNATURE_MAX_SKEW_SECONDS: integer(30, 1, 300),

  // Idempotency (seed 003): completed 2xx kept 24 h, 4xx kept 1 h, 5xx released at once.
  IDEMPOTENCY_LEASE_MS: integer(30_000, 100, 600_000),
  IDEMPOTENCY_SUCCESS_TTL_SECONDS: integer(86_400, 1, 2_592_000),
  IDEMPOTENCY_CLIENT_ERROR_TTL_SECONDS: integer(3_600, 1, 2_592_000),

  // Rate limits (seed 003): per client address 100/min, per user 60/min, per endpoint 10-20/min.
  RATE_LIMIT_WINDOW_MS: integer(60_000, 1, 86_400_000),
  RATE_LIMIT_GLOBAL_MAX: integer(100, 1, 1_000_000_000),
  RATE_LIMIT_USER_MAX: integer(60, 1, 1_000_000_000),
  RATE_LIMIT_ROUTE_MAX: integer(20, 1, 1_000_000_000),

  // Payments (issue 4): gateway, deadlines, process managers.
  GATEWAY: z.enum(['sandbox', 'stripe']).default('sandbox'),
  SANDBOX_LATENCY_MS: integer(0, 0, 60_000),
  SANDBOX_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  STRIPE_SECRET_KEY: optionalText(z.string()),
  STRIPE_WEBHOOK_SECRET: optionalText(z.string()),
  STRIPE_API_HOST: optionalText(z.string()),
  STRIPE_API_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
  PAYMENT_CAPTURE_MODE: z.enum(['automatic', 'manual']).default('automatic'),
  PAYMENT_WAIT_MS: integer(10_000, 0, 120_000),
  PENDING_PAYMENT_TTL_MS: integer(900_000, 1_000, 7 * 24 * 3_600_000),
  PM_MAX_ATTEMPTS: integer(5, 1, 100),
  PM_RETRY_INITIAL_MS: integer(200, 1, 60_000),
  PM_RETRY_MAX_MS: integer(10_000, 1, 600_000),
  PM_CONCURRENCY: integer(8, 1, 256),
  DEADLINE_POLL_MS: integer(1_000, 10, 60_000),
  // Fraud and risk (issue 20): a risk assessment before every gateway call; the live model and
  // one in shadow (empty: none), paths relative to the working directory or absolute.
  FRAUD_CHECKS: boolean(true),
  FRAUD_MODEL: z.string().min(1).default('models/fraud-v1.json'),
  FRAUD_SHADOW_MODEL: z.string().default('models/fraud-v2.json'),
  // How long a payment held for review waits for an analyst before its hold is voided.
  FRAUD_REVIEW_TIMEOUT_MS: integer(24 * 3_600_000, 1_000, 7 * 24 * 3_600_000),
  GAS_DEFAULT_CHAIN: z.enum(['polygon', 'solana']).default('polygon'),
  // On-sales (issue 21): seed 003's default purchase limits (4 tickets per user, 4 per payment
  // method, 8 per address, 4 per order) for every event that sets none; false: only an event's own.
  PURCHASE_LIMITS: boolean(true),

  // Resale and minting (issue 6): price caps and splits in basis points of the price, escrow
  // timing, the chain adapter, the mint worker. RESALE_VENUE_RULES: {"<venueId>": {maxPriceBps,
  // minPriceBps, venueRoyaltyBps, artistRoyaltyBps, artistId}}; MINT_VENUE_PRIORITY: {"<venueId>": "urgent"}.
  RESALE_MAX_PRICE_BPS: bps(25_000, 1_000_000),
  RESALE_MIN_PRICE_BPS: bps(5_000),
  RESALE_VENUE_ROYALTY_BPS: bps(1_000),
  RESALE_ARTIST_ROYALTY_BPS: bps(250),
  RESALE_PLATFORM_FEE_BPS: bps(500),
  RESALE_VENUE_RULES: jsonObject(z.record(z.string(), resaleVenueRule)),
  ESCROW_RELEASE_TIMEOUT_MS: integer(86_400_000, 1_000, 30 * 86_400_000),
  ESCROW_TRANSFER_CHECK_MS: integer(2_000, 10, 600_000),
  MINTER: z.enum(['sandbox']).default('sandbox'),
  CHAIN_CONFIRM_DELAY_MS: integer(2_000, 0, 600_000),
  CHAIN_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  CHAIN_REVERT_RATE: z.coerce.number().min(0).max(1).default(0),
  MINT_POLL_MS: integer(500, 10, 60_000),
  MINT_MAX_ATTEMPTS: integer(3, 1, 100),
  MINT_RETRY_INITIAL_MS: integer(1_000, 1, 600_000),
  MINT_RETRY_MAX_MS: integer(60_000, 1, 3_600_000),
  MINT_VENUE_PRIORITY: jsonObject(z.record(z.string(), z.enum(['urgent', 'high', 'standard']))),
  // Group payments, venue settlement and payouts (issue 7): a group's lifetime and its reminder
  // (0: none), the links mailed to members, when sales become available and the reserve held.
  GROUP_PAYMENT_TTL_MS: integer(600_000, 1_000, 86_400_000),
  GROUP_PAYMENT_REMINDER_MS: integer(300_000, 0, 86_400_000),
  GROUP_PAYMENT_LINK_BASE: z.url().default('https://app.tickettoken.com/group-payment'),
  // Payment links carry an HMAC token under this secret (required in production; fix-groups).
  GROUP_PAYMENT_LINK_SECRET: optionalText(z.string().min(32, 'must be at least 32 characters (256 bits)')),
  SETTLEMENT_DELAY_MS: integer(172_800_000, 0, 90 * 86_400_000),
  VENUE_RESERVE_BPS: integer(1_000, 0, 10_000),
  VENUE_RESERVE_PERIOD_MS: integer(90 * 86_400_000, 0, 365 * 86_400_000),
  // After a venue's payout account changes, its payouts wait this long (0: no hold).
  PAYOUT_ACCOUNT_CHANGE_HOLD_MS: integer(86_400_000, 0, 30 * 86_400_000),

  // Waiting rooms (issue 21): access tokens are HS256 JWTs under this secret (required in
  // production; elsewhere derived from JWT_SECRET, or a fixed development key, so every instance
  // agrees); every instance ticks the rooms with buyers in them this often.
  WAITING_ROOM_SECRET: optionalText(z.string().min(32, 'must be at least 32 characters (256 bits)')),
  WAITING_ROOM_TICK_MS: integer(1_000, 50, 60_000),

  // Notifications (issue 22): receipts, refund confirmations, group links and reminders by SMTP
  // (smtp://user:pass@host:587, smtps://...:465); unset: every message is only logged.
  SMTP_URL: optionalUrl(['smtp', 'smtps']),
  MAIL_FROM: optionalText(z.string().regex(/@/, 'must be an address, e.g. Tessera <tickets@example.com>')),

  // Read side (src/projections): events per transaction for live projections, and per page for
  // rebuild and verify; the longest backoff between retries of a failing batch; the least time
  // between a live projection's batches (events arriving meanwhile share one transaction).
  PROJECTION_BATCH_SIZE: integer(1000, 1, 50_000),
  PROJECTION_REBUILD_BATCH_SIZE: integer(2000, 1, 50_000),
  PROJECTION_RETRY_MAX_MS: integer(30_000, 10, 3_600_000),
  PROJECTION_LINGER_MS: integer(100, 0, 5_000),

  // Query routes (issue 5): how long a query given `?position=` waits for its read model to reach it.
  READ_WAIT_MS: integer(2_000, 0, 30_000),

  // Events out (issue 22): NATS JetStream (unset NATS_URL: no NATS publisher); a batch's tries
  // before it goes one event at a time and an event the broker keeps refusing is parked; the
  // CloudEvent `source` (`<INTEGRATION_EVENT_SOURCE>/<tenant>`).
  NATS_URL: optionalUrl(['nats', 'tls']),
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('TESSERA'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^([A-Za-z0-9_-]+\.)+$/, 'dot-separated tokens ending in a dot').default('tessera.'),
  PUBLISH_MAX_ATTEMPTS: integer(5, 1, 100),
  PUBLISH_RETRY_INITIAL_MS: integer(200, 1, 60_000),
  PUBLISH_RETRY_MAX_MS: integer(10_000, 1, 600_000),
  INTEGRATION_EVENT_SOURCE: z.string().min(1).default('/tessera'),
  // Events out (issue 22): RabbitMQ (a durable topic exchange, routing key = the event type) and
  // Kafka (one topic, key = the aggregate id); each publishes only when its URL or brokers are set.
  RABBITMQ_URL: optionalUrl(['amqp', 'amqps']),
  RABBITMQ_EXCHANGE: z.string().trim().min(1).default('tessera.events'),
  KAFKA_BROKERS: list('').pipe(z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be a comma list of host:port'))),
  KAFKA_TOPIC: z.string().trim().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name').default('tessera.events'),
  KAFKA_CLIENT_ID: z.string().trim().min(1).default('tessera'),
  // Webhooks out (issue 22): endpoints tenants register; one attempt's time limit; deliveries sent
  // side by side; the retry schedule (the first wait, doubling to the longest, given up after the
  // window: 3 days); how often the sender looks for due ones; how long delivered ones are kept.
  // http:// endpoints and endpoints on private addresses are refused unless allowed (development).
  WEBHOOK_TIMEOUT_MS: integer(10_000, 100, 60_000),
  WEBHOOK_CONCURRENCY: integer(16, 1, 256),
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: integer(4, 1, 256),
  WEBHOOK_RETRY_INITIAL_MS: integer(30_000, 1, 3_600_000),
  WEBHOOK_RETRY_MAX_MS: integer(6 * 3_600_000, 1, 86_400_000),
  WEBHOOK_RETRY_WINDOW_MS: integer(3 * 86_400_000, 1_000, 30 * 86_400_000),
  WEBHOOK_POLL_MS: integer(1_000, 10, 60_000),
  WEBHOOK_RETENTION_DAYS: integer(30, 1, 3_650),
  WEBHOOK_MAX_ENDPOINTS: integer(16, 1, 1_000),
  WEBHOOK_ALLOW_HTTP: boolean(false),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: boolean(false),
}).superRefine((config, context) => {
  if (config.GATEWAY === 'stripe' && !config.STRIPE_SECRET_KEY) {
    context.addIssue({ code: 'custom', path: ['STRIPE_SECRET_KEY'], message: 'is required when GATEWAY=stripe' });
  }
  if (config.SMTP_URL && !config.MAIL_FROM) {
    context.addIssue({ code: 'custom', path: ['MAIL_FROM'], message: 'is required when SMTP_URL is set' });
  }
  if (config.HEADERS_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS) {
    context.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT_MS'], message: 'is above REQUEST_TIMEOUT_MS (the headers are part of the request)' });
  }
  if (config.RESALE_VENUE_ROYALTY_BPS + config.RESALE_ARTIST_ROYALTY_BPS + config.RESALE_PLATFORM_FEE_BPS > 10_000) {
    context.addIssue({ code: 'custom', path: ['RESALE_PLATFORM_FEE_BPS'], message: 'royalties and fee add up to more than 10000 bps' });
  }
  if (config.RESALE_MIN_PRICE_BPS > config.RESALE_MAX_PRICE_BPS) {
    context.addIssue({ code: 'custom', path: ['RESALE_MIN_PRICE_BPS'], message: 'is above RESALE_MAX_PRICE_BPS' });
  }
  for (const [venueId, rule] of Object.entries(config.RESALE_VENUE_RULES)) {
    const taken = (rule.venueRoyaltyBps ?? config.RESALE_VENUE_ROYALTY_BPS) + (rule.artistRoyaltyBps ?? config.RESALE_ARTIST_ROYALTY_BPS);
    const tooMuch = taken + config.RESALE_PLATFORM_FEE_BPS > 10_000;
    const inverted = (rule.minPriceBps ?? config.RESALE_MIN_PRICE_BPS) > (rule.maxPriceBps ?? config.RESALE_MAX_PRICE_BPS);
    if (tooMuch || inverted) {
      const problem = tooMuch ? 'royalties and fee add up to more than 10000 bps' : 'minimum price above the maximum';
      context.addIssue({ code: 'custom', path: ['RESALE_VENUE_RULES'], message: `venue ${venueId}: ${problem}` });
    }
  }
  for (const [service, secret] of Object.entries(config.INTERNAL_SERVICE_SECRETS)) {
    if (!config.INTERNAL_SERVICES.includes(service)) {
      context.addIssue({ code: 'custom', path: ['INTERNAL_SERVICE_SECRETS'], message: `names ${service}, which is not in INTERNAL_SERVICES` });
    }
    if (secret === config.INTERNAL_SERVICE_SECRET) {
      context.addIssue({ code: 'custom', path: ['INTERNAL_SERVICE_SECRETS'], message: `gives ${service} the shared INTERNAL_SERVICE_SECRET: a secret of its own must differ` });
    }
  }
  // Outside production a missing key is replaced by an ephemeral one (src/api/auth/dev-credentials.ts);
  // in production that would lock everyone out or, worse, let a restart change the key silently.
  if (config.NODE_ENV !== 'production') return;
  if (!config.JWT_PUBLIC_KEY && !config.JWT_SECRET) {
    context.addIssue({ code: 'custom', path: ['JWT_PUBLIC_KEY'], message: 'required in production (or set JWT_SECRET)' });
  }
  const own = (service: string) => config.INTERNAL_SERVICE_SECRETS[service] !== undefined;
  // A service allowed to write prices or venue profiles must not share a secret others could sign with.
  const shared = SERVICES_WITH_WRITES.filter((service) => config.INTERNAL_SERVICES.includes(service) && !own(service));
  if (shared.length > 0) {
    context.addIssue({
      code: 'custom',
      path: ['INTERNAL_SERVICE_SECRETS'],
      message: `needs a secret of its own for ${shared.join(', ')} in production: with a shared one, any service could sign as it`,
    });
  }
  if (!config.INTERNAL_SERVICE_SECRET && config.INTERNAL_SERVICES.some((service) => !own(service))) {
    context.addIssue({ code: 'custom', path: ['INTERNAL_SERVICE_SECRET'], message: 'required in production for the services without a secret of their own' });
  }
  if (!config.GROUP_PAYMENT_LINK_SECRET) {
    context.addIssue({ code: 'custom', path: ['GROUP_PAYMENT_LINK_SECRET'], message: 'required in production' });
  }
  if (!config.WAITING_ROOM_SECRET) {
    context.addIssue({ code: 'custom', path: ['WAITING_ROOM_SECRET'], message: 'required in production (access tokens are signed with it)' });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming each bad variable and why. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const value = env[name];
      // Only echo short non-secret-looking values; URLs may carry passwords.
      const shown = value !== undefined && !/URL|SECRET|KEY|TOKEN|PASSWORD/.test(name) ? ` (got "${value}")` : '';
      return `${name}: ${issue.message}${shown}`;
    }),
  );
}

/** Which event store the settings select: EventStoreDB over Postgres over the embedded PGlite. */
export function eventStoreKind(config: Config): 'eventstoredb' | 'postgres' | 'pglite' {
  if (config.EVENTSTORE_URL) return 'eventstoredb';
  if (config.DATABASE_URL) return 'postgres';
  return 'pglite';
}
