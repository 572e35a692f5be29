import { z } from 'zod';

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

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

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

  // Payments (issue 4): gateway, deadlines, process managers.
  GATEWAY: z.enum(['sandbox', 'stripe']).default('sandbox'),
  SANDBOX_LATENCY_MS: integer(0, 0, 60_000),
  SANDBOX_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  STRIPE_SECRET_KEY: optionalText,
  STRIPE_WEBHOOK_SECRET: optionalText,
  STRIPE_API_HOST: optionalText,
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
  GAS_DEFAULT_CHAIN: z.enum(['polygon', 'solana']).default('polygon'),
}).superRefine((config, context) => {
  if (config.GATEWAY === 'stripe' && !config.STRIPE_SECRET_KEY) {
    context.addIssue({ code: 'custom', path: ['STRIPE_SECRET_KEY'], message: 'is required when GATEWAY=stripe' });
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
