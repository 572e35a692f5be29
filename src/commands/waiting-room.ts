import type { WaitingRoomSettings } from '../events/catalogue.js';

/** Which purchase a waiting room's access token is checked for (issue 21). */
export interface AccessRequest {
  /** The `x-access-token` header as sent; absent when the caller sent none. */
  readonly token: string | undefined;
  readonly tenantId: string;
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** The event's room as its catalogue holds it (enabled). */
  readonly room: WaitingRoomSettings;
}

/**
 * What a purchase path asks of the waiting room: `check` refuses a missing token (403
 * QUEUE_TOKEN_REQUIRED) and a token that is tampered, predictable, expired, revoked, used by another
 * purchase, or for another event, venue or user (403 INVALID_ACCESS_TOKEN), and answers its id;
 * `consume` marks it used by the purchase's command, once (the same command may consume it again:
 * a retried request), refusing it when another command used it first.
 */
export interface PurchaseAccess {
  check(request: AccessRequest): Promise<{ readonly jti: string }>;
  consume(jti: string, commandId: string): Promise<void>;
}
