import type pg from 'pg';

/**
 * Bulk writes with COPY ... FROM STDIN, PostgreSQL's fastest way in: each value is parsed by its
 * column type's input function and nothing else (no array literal or JSON to take apart first),
 * which makes it several times cheaper for the server than a multi-row INSERT of the same rows.
 * Projections append their new rows this way (src/projections/).
 *
 * Rows travel in COPY's text format: a line per row, fields separated by tabs, `\N` for NULL.
 * `copyField` escapes the characters that format gives a meaning to; values that cannot contain
 * them (numbers, UUIDs, ISO-8601 times, codes the caller checked) may be written as they are.
 */
export class CopyPayload {
  constructor(readonly text: string) {}
}

/** The statement kysely is handed; our dialects run it with the payload as its data. */
export const copyStatement = (table: string, columns: readonly string[]): string => `COPY ${table} (${columns.join(', ')}) FROM STDIN`;

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as a COPY field: backslash, tab, newline and carriage return escaped. */
export function copyField(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIALS, (c) => ESCAPES[c]!) : value;
}

/** A nullable text value as a COPY field. */
export const copyNullable = (value: string | null | undefined): string => (value == null ? '\\N' : copyField(value));

/** What node-postgres hands a submittable query; COPY's two messages are not in @types/pg. */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** Bytes per CopyData message: the server reads them one by one, so any size works. */
const CHUNK = 1 << 16;

/**
 * Runs `statement` (a COPY ... FROM STDIN) on a node-postgres client and sends `text` as its
 * data; resolves with the rows copied. A submittable, so it queues on the client like any query
 * and fails the same way (a bad row rejects it, and the client stays usable).
 */
export function copyFromStdin(client: pg.ClientBase, statement: string, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let copied = 0;
    const data = Buffer.from(text, 'utf8');
    void client.query({
      submit(connection: unknown) {
        (connection as CopyConnection).query(statement);
      },
      handleCopyInResponse(connection: CopyConnection) {
        for (let offset = 0; offset < data.length; offset += CHUNK) connection.sendCopyFromChunk(data.subarray(offset, offset + CHUNK));
        connection.endCopyFrom();
      },
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
