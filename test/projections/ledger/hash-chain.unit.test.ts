import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEntry, canonicalJson, entryHash, GENESIS_HASH, type ChainedEntry } from '../../../src/projections/ledger/hash-chain.js';

const sale: ChainedEntry = {
  seq: 7,
  prevHash: GENESIS_HASH,
  entryId: '0b0e9a52-8d3e-5f3a-9a0c-2f1d6d3c4b5a',
  sourceEventId: '6D08E1ED-5C52-43C2-9775-73789BB5BF3E',
  entryIndex: 0,
  streamId: 'payment-6d08e1ed-5c52-43c2-9775-73789bb5bf3e',
  streamRevision: 3,
  commitPos: 775n,
  preparePos: 5n,
  entryType: 'PaymentCaptured',
  occurredAt: 1_795_379_742_114_000,
  recordedAt: 1_795_379_742_114_321n,
  description: 'tickets for event e-1',
  metadata: { tenantId: 'tenant-1', actor: 'system:purchase', fees: { bps: 790, fixed: 30 } },
  postings: [
    { postingIndex: 0, account: 'gateway:clearing', currency: 'USD', amount: 11_765, occurredAt: 1_795_379_742_114_000 },
    { postingIndex: 1, account: 'venue:v-1:pending', currency: 'USD', amount: -11_765n, occurredAt: '1795379742114000' },
  ],
};

const CANONICAL =
  '["tessera.ledger.entry.v1","0000000000000000000000000000000000000000000000000000000000000000","7",' +
  '"0b0e9a52-8d3e-5f3a-9a0c-2f1d6d3c4b5a","6d08e1ed-5c52-43c2-9775-73789bb5bf3e","0",' +
  '"payment-6d08e1ed-5c52-43c2-9775-73789bb5bf3e","3","775","5","PaymentCaptured","1795379742114000","1795379742114321",' +
  '"tickets for event e-1",{"actor":"system:purchase","fees":{"bps":790,"fixed":30},"tenantId":"tenant-1"},' +
  '[["0","gateway:clearing","USD","11765","1795379742114000"],["1","venue:v-1:pending","USD","-11765","1795379742114000"]]]';

/** One change to each field of the entry and of a posting: every one must change the hash. */
const changes: Record<string, (e: ChainedEntry) => ChainedEntry> = {
  seq: (e) => ({ ...e, seq: 8 }),
  prevHash: (e) => ({ ...e, prevHash: 'f'.repeat(64) }),
  entryId: (e) => ({ ...e, entryId: '0b0e9a52-8d3e-5f3a-9a0c-2f1d6d3c4b5b' }),
  sourceEventId: (e) => ({ ...e, sourceEventId: '6d08e1ed-5c52-43c2-9775-73789bb5bf3f' }),
  entryIndex: (e) => ({ ...e, entryIndex: 1 }),
  streamId: (e) => ({ ...e, streamId: 'payment-other' }),
  streamRevision: (e) => ({ ...e, streamRevision: 4 }),
  commitPos: (e) => ({ ...e, commitPos: 776n }),
  preparePos: (e) => ({ ...e, preparePos: 6n }),
  entryType: (e) => ({ ...e, entryType: 'RefundRequested' }),
  occurredAt: (e) => ({ ...e, occurredAt: 1_795_379_742_114_001 }),
  recordedAt: (e) => ({ ...e, recordedAt: 1_795_379_742_114_322n }),
  description: (e) => ({ ...e, description: 'tickets for event e-2' }),
  metadata: (e) => ({ ...e, metadata: { tenantId: 'tenant-2', actor: 'system:purchase', fees: { bps: 790, fixed: 30 } } }),
  'nested metadata': (e) => ({ ...e, metadata: { tenantId: 'tenant-1', actor: 'system:purchase', fees: { bps: 791, fixed: 30 } } }),
  'a posting index': (e) => ({ ...e, postings: [e.postings[0]!, { ...e.postings[1]!, postingIndex: 2 }] }),
  'a posting account': (e) => ({ ...e, postings: [e.postings[0]!, { ...e.postings[1]!, account: 'venue:v-2:pending' }] }),
  'a posting currency': (e) => ({ ...e, postings: [{ ...e.postings[0]!, currency: 'EUR' }, e.postings[1]!] }),
  'a posting amount': (e) => ({ ...e, postings: [{ ...e.postings[0]!, amount: 11_766 }, e.postings[1]!] }),
  'a debit turned credit': (e) => ({ ...e, postings: [{ ...e.postings[0]!, amount: -11_765 }, { ...e.postings[1]!, amount: 11_765 }] }),
  'a posting time': (e) => ({ ...e, postings: [e.postings[0]!, { ...e.postings[1]!, occurredAt: 0 }] }),
  'a posting removed': (e) => ({ ...e, postings: [e.postings[0]!] }),
  'a posting added': (e) => ({ ...e, postings: [...e.postings, { postingIndex: 2, account: 'platform:fees', currency: 'USD', amount: 0, occurredAt: 0 }] }),
  'the postings reordered': (e) => ({ ...e, postings: [e.postings[1]!, e.postings[0]!] }),
};

describe('the journal hash chain', () => {
  it('writes an entry as one RFC 8785 JSON array, every integer a decimal string and UUIDs in lowercase', () => {
    expect(canonicalEntry(sale)).toBe(CANONICAL);
  });

  it('hashes an entry to the SHA-256 of its canonical form, the same every time', () => {
    const expected = createHash('sha256').update(CANONICAL, 'utf8').digest('hex');
    expect(entryHash(sale)).toBe(expected);
    expect(entryHash(structuredClone(sale))).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes an integer alike whether it comes as a number, a bigint or a database column read as text', () => {
    const asText: ChainedEntry = {
      ...sale,
      seq: '7',
      commitPos: '775',
      preparePos: '5',
      occurredAt: '1795379742114000',
      recordedAt: '1795379742114321',
      postings: sale.postings.map((p) => ({ ...p, postingIndex: String(p.postingIndex), amount: String(p.amount), occurredAt: String(p.occurredAt) })),
    };
    expect(entryHash(asText)).toBe(entryHash(sale));
  });

  it.each(Object.entries(changes))('changes the hash when %s changes', (_, change) => {
    expect(entryHash(change(sale))).not.toBe(entryHash(sale));
  });

  it('hashes the metadata alike whatever order its keys come in (jsonb keeps its own)', () => {
    const reordered = { ...sale, metadata: { fees: { fixed: 30, bps: 790 }, tenantId: 'tenant-1', actor: 'system:purchase' } };
    expect(entryHash(reordered)).toBe(entryHash(sale));
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: true, é: 0.5, Z: -1 })).toBe('{"Z":-1,"a":true,"b":[1,{"c":"x","d":null}],"é":0.5}');
    // RFC 8785: keys as strings ("10" before "9", whatever order JavaScript keeps them in), numbers as ECMAScript writes them.
    expect(canonicalJson(JSON.parse('{"9":1,"10":2,"b":[1e21,-0,0.1,1E-7],"a\\u0000":"\\u2028\\""}'))).toBe('{"10":2,"9":1,"a\\u0000":"\u2028\\"","b":[1e+21,0,0.1,1e-7]}');
  });

  it('cannot be made to collide by moving a separator from one field into the next', () => {
    const accounts = (a: string, c: string) => ({ ...sale, postings: [{ ...sale.postings[0]!, account: a, currency: c }] });
    expect(entryHash(accounts('a:b', 'c'))).not.toBe(entryHash(accounts('a:', 'b:c')));
    expect(entryHash(accounts('a","b', 'c'))).not.toBe(entryHash(accounts('a', 'b","c')));
    expect(entryHash({ ...sale, streamId: 'payment-1', description: '2' })).not.toBe(entryHash({ ...sale, streamId: 'payment-', description: '12' }));
    const split = (first: string, second: string) => ({ ...sale, postings: [{ ...sale.postings[0]!, account: first }, { ...sale.postings[1]!, account: second }] });
    expect(entryHash(split('venue:a', 'b:pending'))).not.toBe(entryHash(split('venue:a:b', 'pending')));
  });

  it('reads back from its canonical form exactly the fields it was made of, so two different entries never share one', () => {
    const text = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(text, text, text, fc.array(fc.tuple(text, text, fc.bigInt()), { maxLength: 4 }), (streamId, entryType, description, legs) => {
        const entry: ChainedEntry = {
          ...sale,
          streamId,
          entryType,
          description,
          postings: legs.map(([account, currency, amount], postingIndex) => ({ postingIndex, account, currency, amount, occurredAt: 0 })),
        };
        const fields = JSON.parse(canonicalEntry(entry)) as unknown[];
        expect([fields[6], fields[10], fields[13]]).toEqual([streamId, entryType, description]);
        expect(fields[15]).toEqual(legs.map(([account, currency, amount], i) => [String(i), account, currency, String(amount), '0']));
      }),
    );
  });
});
