import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { createDevCredentials, DEV_TENANT_ID, DEV_VENUE_ID } from './dev-credentials.js';
import { authenticateInternalCall, type SignedRequest } from './internal-signature.js';
import { bearerToken, createJwtVerifier } from './jwt.js';
import type { Principal } from '../../domain/access.js';
import type { NonceStore } from './nonce-store.js';

/** Authenticates callers: users by bearer JWT, services by the internal HMAC signature. */
export interface Authenticator {
  /** The principal of an `Authorization` header; AUTH_REQUIRED, INVALID_TOKEN or TOKEN_EXPIRED otherwise. */
  bearer(authorization: string | undefined): Promise<Principal>;
  /**
   * The calling service of a signed request (v2: method, path and query, body, timestamp and a
   * nonce used once); AUTH_REQUIRED, INVALID_SIGNATURE, SIGNATURE_EXPIRED, SIGNATURE_REPLAYED,
   * FORBIDDEN, or SERVICE_UNAVAILABLE when the nonce store cannot answer.
   */
  internal(request: SignedRequest): Promise<string>;
}

/**
 * Builds the authenticator from the configuration. Outside production (the config refuses to
 * start production without keys) a missing JWT key or internal secret is replaced by an
 * ephemeral one, and the tokens signed with it are logged so the API is usable at once.
 */
export async function createAuthenticator(
  config: Config,
  logger: Logger,
  now: () => Date,
  nonces: NonceStore,
): Promise<Authenticator> {
  const configured = config.JWT_PUBLIC_KEY !== undefined || config.JWT_SECRET !== undefined;
  const dev = configured ? undefined : await createDevCredentials(now());
  const verifier = await createJwtVerifier({
    ...(config.JWT_PUBLIC_KEY ? { publicKeyPem: config.JWT_PUBLIC_KEY } : {}),
    ...(dev ? { secret: dev.secret } : config.JWT_SECRET ? { secret: config.JWT_SECRET } : {}),
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
    now,
  });
  const internalSecret = config.INTERNAL_SERVICE_SECRET ?? randomBytes(32).toString('hex');

  if (dev) {
    logger.warn('no JWT_PUBLIC_KEY or JWT_SECRET set: signing development tokens with an ephemeral key (not for production)');
    logger.info(
      {
        devTokens: dev.tokens,
        tenantId: DEV_TENANT_ID,
        venueId: DEV_VENUE_ID,
        expiresAt: dev.expiresAt.toISOString(),
        docs: `http://localhost:${config.PORT}/docs`,
      },
      'development tokens: send one as "Authorization: Bearer <token>" (or paste it into Authorize at /docs)',
    );
  }
  // In production every service then has a secret of its own (the config requires it), and this one verifies nobody.
  if (config.INTERNAL_SERVICE_SECRET === undefined && config.NODE_ENV !== 'production') {
    logger.warn({ devInternalSecret: internalSecret }, 'no INTERNAL_SERVICE_SECRET set: /internal/* routes use this ephemeral secret');
  }

  return {
    bearer: (authorization) => verifier.verify(bearerToken(authorization)),
    internal: (request) =>
      authenticateInternalCall(request, {
        // Own properties only: a header naming `constructor` or `__proto__` must not find a function.
        secretFor: (service) => (Object.hasOwn(config.INTERNAL_SERVICE_SECRETS, service) ? config.INTERNAL_SERVICE_SECRETS[service]! : internalSecret),
        services: config.INTERNAL_SERVICES,
        maxSkewSeconds: config.INTERNAL_SIGNATURE_MAX_SKEW_SECONDS,
        now,
        nonces,
        onStoreFailure: (error) => logger.error({ err: error }, 'nonce store unavailable: refusing a signed internal call'),
      }),
  };
}
