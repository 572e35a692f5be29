import { hash } from 'node:crypto';

/**
 * Name-based UUIDs (RFC 4122 version 5: SHA-1 of namespace + name). The same name always gives
 * the same id, which is how a retried command or process-manager step writes the same events
 * and sends the same gateway idempotency key instead of new ones.
 */
export const TESSERA_NAMESPACE = '5b0c2a8e-7f0e-4d61-9a57-3c1f1f6f2e11';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

const NAME_BASED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A version 5 (name-based) UUID, the shape of every id uuidV5 derives (payment ids among them). */
export const isNameBasedUuid = (value: string): boolean => NAME_BASED_UUID.test(value);

/** Namespace and name bytes, hashed in one call: ids are derived by the hundred thousand in a replay. */
let scratch = Buffer.allocUnsafe(256);
const namespaces = new Map<string, Buffer>();

export function uuidV5(name: string, namespace: string = TESSERA_NAMESPACE): string {
  let bytes = namespaces.get(namespace);
  if (!bytes) {
    if (!isUuid(namespace)) throw new RangeError(`namespace must be a UUID, got ${namespace}`);
    bytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    if (namespaces.size < 64) namespaces.set(namespace, bytes);
  }
  scratch.set(bytes, 0);
  const length = 16 + Buffer.byteLength(name, 'utf8');
  if (length > scratch.length) {
    scratch = Buffer.allocUnsafe(length * 2);
    scratch.set(bytes, 0);
  }
  scratch.write(name, 16, 'utf8');
  const digest = hash('sha1', scratch.subarray(0, length), 'buffer') as unknown as Buffer;
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the n-th event a command writes. */
export const eventIdFor = (commandId: string, n: number): string => uuidV5(`${commandId}:${n}`);

/** A command id derived from what caused it (an event id, a deadline id) and the step taken. */
export const derivedId = (cause: string, step: string): string => uuidV5(`${cause}:${step}`);

/**
 * The key a command route derives its command from: the client's Idempotency-Key bound to the
 * whole request (its fingerprint: method, route, path, query and body). A retry of the same
 * request is the same command; the same key on another route, for another resource or with
 * another body (possible once its stored answer has expired, as with Stripe's keys) is another.
 */
export const commandKeyFor = (requestFingerprint: string, idempotencyKey: string): string =>
  uuidV5(`command-key:${JSON.stringify([requestFingerprint, idempotencyKey.toLowerCase()])}`);

/**
 * A client's Idempotency-Key is unique only per tenant and user (seed 003), so the command id
 * the write side uses folds them in: two users picking the same key never share a command. The
 * parts are hashed as a JSON list, so no choice of tenant and user ids can make two callers'
 * names meet (`t:u` + `x` against `t` + `u:x`).
 */
export const commandIdFor = (tenantId: string, userId: string, commandKey: string): string =>
  uuidV5(`command:${JSON.stringify([tenantId, userId, commandKey.toLowerCase()])}`);

/** A ticket's id: from its payment (or group) and its place in the order, lines in order, units in order. */
export const ticketIdFor = (paymentId: string, index: number): string => uuidV5(`ticket:${paymentId.toLowerCase()}:${index}`);
