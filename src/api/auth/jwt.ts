import { webcrypto } from 'node:crypto';
import { errors, importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { TesseraError } from '../../errors.js';
import type { Principal } from '../../domain/access.js';
import { principalFromClaims, tokenClaims } from './principal.js';

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

// Verified tokens are remembered (up to this many), so a client's every request does not pay
// for signature verification again; see `remember`.
const MAX_REMEMBERED_TOKENS = 10_000;

export async function createJwtVerifier(options: JwtVerifierOptions): Promise<JwtVerifier> {
  const rsa: CryptoKey | undefined = options.publicKeyPem ? await importSPKI(options.publicKeyPem, 'RS256') : undefined;
  const hmac: CryptoKey | undefined = options.secret === undefined ? undefined : await importHmacKey(options.secret);
  if (!rsa && !hmac) throw new Error('a JWT verifier needs a public key or a secret');
  // Only the algorithms we hold a key for are accepted, so a token cannot choose HS256 and have
  // the public key used as an HMAC secret (algorithm confusion).
  const algorithms = [...(rsa ? ['RS256'] : []), ...(hmac ? ['HS256'] : [])];
  const keyFor = ({ alg }: { alg?: string }) => {
    const key = alg === 'RS256' ? rsa : alg === 'HS256' ? hmac : undefined;
    if (!key) throw new TesseraError('INVALID_TOKEN', 'Token algorithm is not accepted');
    return key;
  };

  const remembered = new Map<string, { readonly principal: Principal; readonly expiresAt: number }>();

  return {
    async verify(token) {
      const known = remembered.get(token);
      if (known) {
        if (Math.floor(options.now().getTime() / 1000) < known.expiresAt) return known.principal;
        remembered.delete(token);
        throw new TesseraError('TOKEN_EXPIRED', 'Token has expired');
      }
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
      const principal = principalFromClaims(claims.data);
      remember(remembered, token, { principal, expiresAt: (payload as { exp: number }).exp });
      return principal;
    },
  };
}

/**
 * A token that verified once verifies again until it expires: its signature covers exactly these
 * bytes, and the keys, issuer and audience do not change while the process runs. Only expiry can
 * change the answer, and it is checked on every use (as jose does: expired once now >= exp).
 * The oldest entry goes when the map is full.
 */
function remember<V>(cache: Map<string, V>, token: string, value: V): void {
  if (cache.size >= MAX_REMEMBERED_TOKENS) cache.delete(cache.keys().next().value!);
  cache.set(token, value);
}

/** An HS256 key imported once (jose would otherwise convert a raw secret on every verification). */
function importHmacKey(secret: string | Uint8Array): Promise<CryptoKey> {
  const raw = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
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
