import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '../../domain/access.js';

/**
 * Outside production, when no JWT key is configured, the server makes an ephemeral HS256 secret
 * and signs one token per role with it, so a newcomer can call the API straight after
 * `npm start`. The secret lives only in this process: a restart invalidates every token.
 */
export const DEV_TENANT_ID = '00000000-0000-4000-8000-000000000001';
export const DEV_VENUE_ID = '00000000-0000-4000-8000-00000000a001';
export const DEV_USERS: Readonly<Record<Role, string>> = {
  admin: '00000000-0000-4000-8000-0000000000a0',
  user: '00000000-0000-4000-8000-0000000000b0',
  venue_manager: '00000000-0000-4000-8000-0000000000c0',
};
export const DEV_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export interface DevCredentials {
  readonly secret: Uint8Array;
  readonly expiresAt: Date;
  readonly tokens: Readonly<Record<Role, string>>;
}

export async function createDevCredentials(now: Date): Promise<DevCredentials> {
  const secret = new Uint8Array(randomBytes(32));
  const issuedAt = Math.floor(now.getTime() / 1000);
  const sign = (role: Role) =>
    new SignJWT({ role, tenant_id: DEV_TENANT_ID, venues: role === 'venue_manager' ? [DEV_VENUE_ID] : [] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(DEV_USERS[role])
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + DEV_TOKEN_TTL_SECONDS)
      .sign(secret);
  const [admin, user, venueManager] = await Promise.all([sign('admin'), sign('user'), sign('venue_manager')]);
  return {
    secret,
    expiresAt: new Date((issuedAt + DEV_TOKEN_TTL_SECONDS) * 1000),
    tokens: { admin, user, venue_manager: venueManager },
  };
}
