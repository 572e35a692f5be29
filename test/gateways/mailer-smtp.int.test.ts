import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/db/sql-client.js';
import { createSmtpMailer, MailClaimHeld, messageIdFor, type SmtpMailer } from '../../src/gateways/mailer-smtp.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.js';

/**
 * The SMTP mailer against a real SMTP server in process: each key arrives once, however often
 * and by however many mailer instances (a restart) it is sent; a refused send throws and its
 * retry sends. On PGlite always, and on PostgreSQL when DATABASE_URL is set.
 */
const databases: { name: string; open(): Promise<{ sql: SqlClient; close(): Promise<void> }> }[] = [
  {
    name: 'PGlite',
    async open() {
      const sql = await freshPglite();
      return { sql, close: () => sql.close() };
    },
  },
  ...(env.databaseUrl
    ? [
        {
          name: 'PostgreSQL',
          async open() {
            const schema = await freshPostgresSchema(env.databaseUrl!);
            return { sql: schema.connect({ poolSize: 4 }), close: () => schema.drop() };
          },
        },
      ]
    : []),
];

describe.each(databases)('the SMTP mailer on $name', (database) => {
  let smtp: TestSmtpServer;
  let sql: SqlClient;
  let opened: { sql: SqlClient; close(): Promise<void> };
  const mailers: SmtpMailer[] = [];
  const mailer = (options: { claimLeaseMs?: number; clock?: () => Date } = {}) => {
    const created = createSmtpMailer({ sql, url: smtp.url, from: 'Tessera <tickets@example.com>', ...options });
    mailers.push(created);
    return created;
  };
  const message = (key = randomUUID()) => ({ key, to: 'buyer@example.com', subject: `Receipt ${key}`, text: `Total: $1.00 <b>${key}</b>` });
  const arrived = (key: string) => smtp.received.filter((mail) => mail.header('subject') === `Receipt ${key}`);

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    opened = await database.open();
    sql = opened.sql;
  });
  afterEach(() => smtp.refuseWith(undefined));
  afterAll(async () => {
    for (const m of mailers) m.close();
    await smtp.close();
    await opened.close();
  });

  it('delivers the message from MAIL_FROM with a Message-ID derived from its key, text and escaped HTML', async () => {
    const sent = message();
    await mailer().send(sent);
    const [mail] = arrived(sent.key);
    expect(mail?.to).toEqual(['buyer@example.com']);
    expect(mail?.from).toBe('tickets@example.com');
    expect(mail?.header('message-id')).toBe(messageIdFor(sent.key, 'example.com'));
    expect(mail?.header('message-id')).toBe(`<${sent.key}@example.com>`);
    expect(mail?.decoded).toContain(`Total: $1.00 <b>${sent.key}</b>`);
    expect(mail?.decoded).toContain(`Total: $1.00 &lt;b&gt;${sent.key}&lt;/b&gt;`);
  });

  it('sends a key once when it is sent twice, and once more after a restart on the same database', async () => {
    const sent = message();
    const first = mailer();
    await first.send(sent);
    await first.send(sent);
    await mailer().send(sent);
    expect(arrived(sent.key)).toHaveLength(1);
  });

  it('stores neither the address nor the body, only the key and when it was sent', async () => {
    const sent = message();
    await mailer().send(sent);
    const { rows } = await sql.query<Record<string, unknown>>('SELECT * FROM tessera_sent_mail WHERE key = $1', [sent.key]);
    expect(Object.keys(rows[0]!).sort()).toEqual(['claimed_at', 'key', 'sent_at']);
    expect(rows[0]!.sent_at).not.toBeNull();
  });

  it.each([451, 550] as const)('throws when the server answers %i, and the retry sends the message once', async (code) => {
    const sent = message();
    const m = mailer();
    smtp.refuseWith(code);
    await expect(m.send(sent)).rejects.toThrow(String(code));
    expect(arrived(sent.key)).toHaveLength(0);
    smtp.refuseWith(undefined);
    await m.send(sent);
    await m.send(sent);
    expect(arrived(sent.key)).toHaveLength(1);
  });

  it('throws while another try holds the claim, and takes a claim over once its lease is past (a crash mid-send)', async () => {
    const sent = message();
    const crashedAt = new Date();
    // A try that claimed the key and died before the server answered.
    await sql.query('INSERT INTO tessera_sent_mail (key, claimed_at) VALUES ($1, $2)', [sent.key, crashedAt]);
    const soon = mailer({ claimLeaseMs: 60_000, clock: () => new Date(crashedAt.getTime() + 1_000) });
    await expect(soon.send(sent)).rejects.toBeInstanceOf(MailClaimHeld);
    expect(arrived(sent.key)).toHaveLength(0);
    const later = mailer({ claimLeaseMs: 60_000, clock: () => new Date(crashedAt.getTime() + 61_000) });
    await later.send(sent);
    await later.send(sent);
    expect(arrived(sent.key)).toHaveLength(1);
  });

  it('cannot reach a server that is not there: it throws and leaves the key free for the retry', async () => {
    const sent = message();
    const unreachable = createSmtpMailer({ sql, url: 'smtp://127.0.0.1:1', from: 'tickets@example.com' });
    mailers.push(unreachable);
    await expect(unreachable.send(sent)).rejects.toThrow();
    await mailer().send(sent);
    expect(arrived(sent.key)).toHaveLength(1);
  });
});
