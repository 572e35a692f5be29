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
  // Read side (src/projections): events per transaction for live projections, and per page for
  // rebuild and verify; the longest backoff between retries of a failing batch.
  PROJECTION_BATCH_SIZE: integer(1000, 1, 50_000),
  PROJECTION_REBUILD_BATCH_SIZE: integer(2000, 1, 50_000),
  PROJECTION_RETRY_MAX_MS: integer(30_000, 10, 3_600_000),
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
