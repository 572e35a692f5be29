import type pg from 'pg';

/**
 * Bulk writes with COPY ... FROM STDIN, PostgreSQL's fastest way in, in its binary format
 * (src/db/binary-copy.ts): the server takes each value as stored, parsing nothing but JSON, which
 * makes it several times cheaper than a multi-row INSERT of the same rows. Projections append
 * their new rows this way (`copyInto` in src/db/kysely.ts).
 */
export class CopyPayload {
  constructor(readonly data: Buffer) {}
}

/** The statement kysely is handed; our dialects run it with the payload as its data. */
export const copyStatement = (table: string, columns: readonly string[]): string =>
  `COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT binary)`;

/**
 * What node-postgres hands a submittable query. Its socket (`stream`) is not in @types/pg: the
 * COPY data goes straight onto it, as pg-copy-streams does, so `pg` is pinned to an exact
 * version and test/db/kysely.int.test.ts exercises COPY, its failure and the client after it.
 */
interface CopyConnection {
  query(text: string): void;
  readonly stream: { write(chunk: Buffer): boolean; cork(): void; uncork(): void };
}

/** Bytes per CopyData message: the server reads them one by one, so any size below 1 GB works. */
const CHUNK = 1 << 22;
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

/** Writes the payload as CopyData messages and ends it, straight to the socket (no copy made). */
function sendCopyData(connection: CopyConnection, data: Buffer): void {
  const { stream } = connection;
  stream.cork();
  for (let offset = 0; offset < data.length; offset += CHUNK) {
    const chunk = data.subarray(offset, offset + CHUNK);
    const header = Buffer.allocUnsafe(5);
    header[0] = 0x64; // 'd'
    header.writeUInt32BE(chunk.length + 4, 1);
    stream.write(header);
    stream.write(chunk);
  }
  stream.write(COPY_DONE);
  stream.uncork();
}

/**
 * Runs `statement` (a COPY ... FROM STDIN) on a node-postgres client and sends `data` as its
 * data; resolves with the rows copied. A submittable, so it queues on the client like any query
 * and fails the same way (a bad row rejects it, and the client stays usable).
 */
export function copyFromStdin(client: pg.ClientBase, statement: string, data: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let copied = 0;
    void client.query({
      submit(connection: unknown) {
        // The data goes right behind the statement, not after the server's CopyInResponse: one
        // round trip instead of two, and this process is free while the server reads it. Should
        // the statement fail, the server skips the CopyData that follows, as the protocol says.
        (connection as CopyConnection).query(statement);
        sendCopyData(connection as CopyConnection, data);
      },
      handleCopyInResponse() {},
      handleCommandComplete(message: { text?: string }) {
        copied = Number(/^COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
      },
      handleError(error: Error) {
        reject(error);
      },
      handleReadyForQuery() {
        resolve(copied);
      },
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    } as pg.Submittable);
  });
}
