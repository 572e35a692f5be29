import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { TesseraError } from '../../errors.js';
import { principalFromClaims, tokenClaims, type Principal } from './principal.js';

/** Verifies bearer tokens: RS256 against a public key and/or HS256 against a shared secret. */
export interface JwtVerifier {
  verify(token: string): Promise<Principal>;
}

export interface JwtVerifierOptions {
  /** PEM (SPKI) public key for RS256 tokens. */
  readonly publicKeyPem?: string;
  /** Shared secret for HS256 tokens. */
  readonly secret?: string | Uint8Array;
  readonly issuer?: string;
  readonly audience?: string;
  /** The clock tokens are checked against (exp, nbf). */
  readonly now: () => Date;
}

export async function createJwtVerifier(options: JwtVerifierOptions): Promise<JwtVerifier> {
  const rsa: CryptoKey | undefined = options.publicKeyPem ? await importSPKI(options.publicKeyPem, 'RS256') : undefined;
  const hmac: KeyObject | undefined =
    options.secret === undefined
      ? undefined
      : createSecretKey(typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret);
  if (!rsa && !hmac) throw new Error('a JWT verifier needs a public key or a secret');
  // Only the algorithms we hold a key for are accepted, so a token cannot choose HS256 and have
  // the public key used as an HMAC secret (algorithm confusion).
  const algorithms = [...(rsa ? ['RS256'] : []), ...(hmac ? ['HS256'] : [])];
  const keyFor = ({ alg }: { alg?: string }) => {
    const key = alg === 'RS256' ? rsa : alg === 'HS256' ? hmac : undefined;
    if (!key) throw new TesseraError('INVALID_TOKEN', 'Token algorithm is not accepted');
    return key;
  };

  return {
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, keyFor, {
          algorithms,
          requiredClaims: ['exp', 'sub'],
          currentDate: options.now(),
          ...(options.issuer ? { issuer: options.issuer } : {}),
          ...(options.audience ? { audience: options.audience } : {}),
        }));
      } catch (error) {
        throw tokenError(error);
      }
      const claims = tokenClaims.safeParse(payload);
      if (!claims.success) {
        const missing = claims.error.issues.map((issue) => issue.path.join('.')).join(', ');
        throw new TesseraError('INVALID_TOKEN', `Token claims are invalid: ${missing}`);
      }
      return principalFromClaims(claims.data);
    },
  };
}

function tokenError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  if (error instanceof errors.JWTExpired) return new TesseraError('TOKEN_EXPIRED', 'Token has expired');
  if (error instanceof errors.JOSEError) return new TesseraError('INVALID_TOKEN', 'Token is invalid');
  throw error;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new TesseraError('AUTH_REQUIRED', 'Authentication required');
  const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header);
  if (!match?.[1]) throw new TesseraError('AUTH_REQUIRED', 'Authorization must be a Bearer token');
  return match[1];
}
