import { hash } from 'node:crypto';

/**
 * A name-based UUID (version 5, RFC 9562): the same namespace and name always give the same id,
 * so anything derived from an event or a command (a journal entry, a follow-up event) gets the
 * same id however often it is derived, and a replay or retry cannot create a second one.
 */
export function deterministicUuid(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  if (ns.length !== 16) throw new RangeError(`namespace must be a UUID: ${namespace}`);
  const bytes = hash('sha1', Buffer.concat([ns, Buffer.from(name, 'utf8')]), 'buffer').subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
