import { sql as raw, type ColumnType, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCopyWriter } from '../../src/db/binary-copy.js';
import { copyInto, createKysely, sqlExecutorOf } from '../../src/db/kysely.js';
import { sqlErrorInfo, type SqlClient } from '../../src/db/sql-client.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';

interface Tables {
  probe: { id: string; amount: ColumnType<string, string | bigint | number, string | bigint | number>; note: string | null };
}

function kyselyContract(name: string, open: () => Promise<{ sql: SqlClient; close(): Promise<void> }>): void {
  describe(`kysely over the SqlClient: ${name}`, () => {
    let sql: SqlClient;
    let db: Kysely<Tables>;
    let close: () => Promise<void>;

    beforeAll(async () => {
      const opened = await open();
      sql = opened.sql;
      close = () => opened.close();
      await sql.exec(`CREATE TABLE probe (id text PRIMARY KEY, amount bigint NOT NULL, note text);
        CREATE TABLE probe_deferred (id text, CONSTRAINT probe_deferred_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`);
      db = createKysely<Tables>(sql);
    });
    afterAll(async () => {
      await db.destroy();
      await close();
    });

    const count = async (db: Kysely<Tables>, prefix: string) =>
      Number((await db.selectFrom('probe').select((eb) => eb.fn.countAll<string>().as('n')).where('id', 'like', `${prefix}%`).executeTakeFirstOrThrow()).n);

    it('runs typed queries and hands back bigint and numeric values as exact strings', async () => {
      await db.insertInto('probe').values({ id: 'big-1', amount: 9_007_199_254_740_993n, note: null }).execute();
      const row = await db.selectFrom('probe').selectAll().where('id', '=', 'big-1').executeTakeFirstOrThrow();
      expect(row).toEqual({ id: 'big-1', amount: '9007199254740993', note: null });
      const { rows } = await raw<{ small: string; total: string; list: string[] }>`
        SELECT 7::int8 AS small, sum(amount) AS total, ARRAY[1, 2]::int8[] AS list FROM probe WHERE id = 'big-1'`.execute(db);
      expect(rows).toEqual([{ small: '7', total: '9007199254740993', list: ['1', '2'] }]);
    });

    it('reports how many rows an update touched', async () => {
      await db.insertInto('probe').values([{ id: 'upd-1', amount: 1 }, { id: 'upd-2', amount: 2 }]).execute();
      const [result] = await db.updateTable('probe').set({ note: 'seen' }).where('id', 'like', 'upd-%').execute();
      expect(result?.numUpdatedRows).toBe(2n);
    });

    it('commits a transaction and rolls one back when its work throws', async () => {
      await db.transaction().execute((trx) => trx.insertInto('probe').values({ id: 'tx-kept', amount: 1 }).execute());
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('probe').values({ id: 'tx-dropped', amount: 1 }).execute();
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await count(db, 'tx-kept')).toBe(1);
      expect(await count(db, 'tx-dropped')).toBe(0);
    });

    it('never lets a reader outside a transaction see half of it', async () => {
      let seen: number | undefined;
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('probe').values({ id: 'half-1', amount: 1 }).execute();
        const reader = count(db, 'half-').then((n) => (seen = n));
        await new Promise((resolve) => setTimeout(resolve, 20));
        await trx.insertInto('probe').values({ id: 'half-2', amount: 1 }).execute();
        // PGlite queues the reader until commit; PostgreSQL answers it from before the transaction.
        if (sql.dialect === 'postgres') await reader;
      });
      await expect.poll(() => seen).toBeDefined();
      expect([0, 2]).toContain(seen);
    });

    it('loses no update when transactions that lock what they read run at once', async () => {
      await db.insertInto('probe').values({ id: 'counter', amount: 0 }).execute();
      await Promise.all(
        Array.from({ length: 8 }, () =>
          db.transaction().execute(async (trx) => {
            const { amount } = await trx.selectFrom('probe').select('amount').where('id', '=', 'counter').forUpdate().executeTakeFirstOrThrow();
            await new Promise((resolve) => setTimeout(resolve, 2));
            await trx.updateTable('probe').set({ amount: BigInt(amount) + 1n }).where('id', '=', 'counter').execute();
          }),
        ),
      );
      const row = await db.selectFrom('probe').select('amount').where('id', '=', 'counter').executeTakeFirstOrThrow();
      expect(row.amount).toBe('8');
    });

    it('rolls back to a savepoint and keeps what came before it', async () => {
      const trx = await db.startTransaction().execute();
      await trx.insertInto('probe').values({ id: 'sp-kept', amount: 1 }).execute();
      const point = await trx.savepoint('before_mistake').execute();
      await point.insertInto('probe').values({ id: 'sp-undone', amount: 1 }).execute();
      await point.rollbackToSavepoint('before_mistake').execute();
      await trx.commit().execute();
      expect(await count(db, 'sp-kept')).toBe(1);
      expect(await count(db, 'sp-undone')).toBe(0);
    });

    it('opens a transaction at the isolation level asked for', async () => {
      const level = await db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => (await raw<{ level: string }>`SELECT current_setting('transaction_isolation') AS level`.execute(trx)).rows[0]?.level);
      expect(level).toBe('repeatable read');
    });

    it('rejects a transaction whose COMMIT fails and keeps none of it', async () => {
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          await raw`INSERT INTO probe_deferred (id) VALUES ('twice'), ('twice')`.execute(trx);
        })
        .catch((error: unknown) => error);
      expect(sqlErrorInfo(failed).code).toBe('23505');
      const { rows } = await sql.query<{ n: string }>('SELECT count(*)::text AS n FROM probe_deferred');
      expect(rows[0]?.n).toBe('0');
    });

    it('lets SqlClient-style code join a Kysely transaction, scripts included', async () => {
      await db
        .transaction()
        .execute(async (trx) => {
          const tx = sqlExecutorOf(trx);
          await tx.query('INSERT INTO probe (id, amount) VALUES ($1, $2)', ['joined-1', '5']);
          await tx.exec(`INSERT INTO probe (id, amount) VALUES ('joined-2', 6); INSERT INTO probe (id, amount) VALUES ('joined-3', 7)`);
          const { rows, rowCount } = await tx.query<{ id: string }>("UPDATE probe SET note = 'j' WHERE id LIKE 'joined-%' RETURNING id");
          expect([rows.length, rowCount]).toEqual([3, 3]);
          expect(await count(trx, 'joined-')).toBe(3);
          throw new Error('roll it all back');
        })
        .catch(() => undefined);
      expect(await count(db, 'joined-')).toBe(0);
    });

    it('bulk-loads rows with binary COPY in the transaction, every type and NULL coming back as written', async () => {
      await sql.exec(`CREATE TABLE copy_types (id uuid, small integer, big bigint, flag boolean, note text, doc jsonb, at timestamptz)`);
      const notes = ['tab\there', 'two\nlines', 'back\\slash \\N', 'ünïcødé ✓ 😀', ''];
      const rows = new BinaryCopyWriter(16);
      notes.forEach((note, i) =>
        rows
          .row(7)
          .uuid(`00000000-0000-4000-8000-00000000000${i}`)
          .int4(-(2 ** 31) + i)
          .int8(i === 0 ? 2n ** 62n : -Number.MAX_SAFE_INTEGER + i)
          .bool(i % 2 === 0)
          .text(note)
          .jsonb(JSON.stringify({ note, n: i }))
          .timestamptz(`2026-01-01T12:00:0${i}.12345${i}Z`),
      );
      rows.row(7).uuid('AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA').null().null().null().textOrNull(null).null().timestamptzOrNull(null);
      const copied = await db.transaction().execute((trx) => copyInto(trx, 'copy_types', ['id', 'small', 'big', 'flag', 'note', 'doc', 'at'], rows));
      expect(copied).toBe(notes.length + 1);
      const { rows: stored } = await raw<Record<string, unknown>>`
        SELECT id::text, small, big::text, flag, note, doc, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at FROM copy_types ORDER BY id`.execute(db);
      expect(stored).toEqual([
        ...notes.map((note, i) => ({
          id: `00000000-0000-4000-8000-00000000000${i}`,
          small: -(2 ** 31) + i,
          big: i === 0 ? String(2n ** 62n) : String(-Number.MAX_SAFE_INTEGER + i),
          flag: i % 2 === 0,
          note,
          doc: { note, n: i },
          at: `2026-01-01 12:00:0${i}.12345${i}`,
        })),
        { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', small: null, big: null, flag: null, note: null, doc: null, at: null },
      ]);
    });

    it('keeps nothing of a COPY whose transaction rolls back, and refuses a malformed payload, staying usable', async () => {
      const probe = (id: string, amount: number, fields = 2) => new BinaryCopyWriter().row(fields).text(id).int8(amount);
      await db
        .transaction()
        .execute(async (trx) => {
          await copyInto(trx, 'probe', ['id', 'amount'], probe('copy-undone', 1));
          throw new Error('changed my mind');
        })
        .catch(() => undefined);
      expect(await count(db, 'copy-undone')).toBe(0);
      const failed = await db
        .transaction()
        .execute((trx) => copyInto(trx, 'probe', ['id', 'amount'], probe('copy-bad', 1, 3)))
        .catch((error: unknown) => error);
      expect(sqlErrorInfo(failed).code).toBe('22P04');
      expect(await count(db, 'copy-bad')).toBe(0);
      // The data follows the statement unasked: where the statement itself fails, it is skipped.
      const nowhere = await db
        .transaction()
        .execute((trx) => copyInto(trx, 'no_such_table', ['id', 'amount'], probe('copy-nowhere', 1)))
        .catch((error: unknown) => error);
      expect(sqlErrorInfo(nowhere).code).toBe('42P01');
      expect(await db.transaction().execute((trx) => copyInto(trx, 'probe', ['id', 'amount'], probe('copy-after', 3)))).toBe(1);
    });

    it('leaves the SqlClient open when a Kysely instance over it is destroyed', async () => {
      const other = createKysely<Tables>(sql);
      await other.selectFrom('probe').select('id').limit(1).execute();
      await other.destroy();
      expect((await sql.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });
}

kyselyContract('PGlite', async () => {
  const sql = await freshPglite();
  return { sql, close: () => sql.close() };
});

describe.runIf(env.databaseUrl)('on PostgreSQL (DATABASE_URL)', () => {
  kyselyContract('PostgreSQL', async () => {
    const schema = await freshPostgresSchema(env.databaseUrl!);
    return { sql: schema.connect({ poolSize: 10 }), close: () => schema.drop() };
  });
});
