import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A member's payment link is the member's capability: it carries a token derived with HMAC-SHA256
 * from GROUP_PAYMENT_LINK_SECRET, the group and the member, so only whoever received the link
 * (or the organizer, who was answered every link) can pay that share or look at the group.
 */
export const linkToken = (secret: string, groupId: string, memberId: string): string =>
  createHmac('sha256', secret).update(`group-payment-link:${groupId}:${memberId}`).digest('base64url');

export const paymentLink = (linkBase: string, secret: string, groupId: string, memberId: string): string =>
  `${linkBase}/${groupId}/${memberId}?token=${linkToken(secret, groupId, memberId)}`;

/** Whether `token` is the one in the member's payment link (compared in constant time). */
export function holdsLink(secret: string, groupId: string, memberId: string, token: string | undefined): boolean {
  if (!token) return false;
  const expected = Buffer.from(linkToken(secret, groupId, memberId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
