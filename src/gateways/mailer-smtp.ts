import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { SqlExecutor } from '../db/sql-client.js';
import { escapeHtml } from '../domain/notifications.js';
import type { Logger } from '../logger.js';
import type { MailMessage, Mailer } from './mailer.js';

export interface SmtpMailerOptions {
  /** Where each key's claim and send are recorded (tessera_sent_mail). */
  readonly sql: SqlExecutor;
  /** `smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://...:465`. */
  readonly url: string;
  /** The From address, e.g. `Tessera <tickets@example.com>`. */
  readonly from: string;
  readonly logger?: Logger;
  /**
   * How long a claim whose send never finished holds its key before another try takes it over.
   * Longer than the longest send can take (the timeouts below), so it only expires after a crash.
   */
  readonly claimLeaseMs?: number;
  readonly clock?: () => Date;
}

export interface SmtpMailer extends Mailer {
  close(): void;
}

/** A send cannot outlast these, so a claim older than their sum was cut off by a crash. */
const CONNECT_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;
const DEFAULT_CLAIM_LEASE_MS = 2 * (CONNECT_TIMEOUT_MS + GREETING_TIMEOUT_MS + SOCKET_TIMEOUT_MS);

/** Another try holds the key's claim: the step fails for now and its retry finds it sent. */
export class MailClaimHeld extends Error {
  constructor(key: string) {
    super(`mail ${key} is being sent by another attempt`);
    this.name = 'MailClaimHeld';
  }
}

/**
 * The SMTP mailer (nodemailer): each key is sent once, across retries and restarts.
 *
 * A send claims its key in tessera_sent_mail first, then hands the message to the SMTP server,
 * then marks the key sent. A send the server refuses (or that cannot reach it) deletes the claim
 * and throws, so the process manager's retry sends again. A key marked sent is never sent again.
 *
 * The one window left is a crash after the server accepted the message and before the key was
 * marked sent. We choose at least once there: once the claim's lease is past, the next try sends
 * again, with the same Message-ID (derived from the key) so a receiving system can drop the
 * duplicate. A receipt lost for good is worse for a buyer than one arriving twice. Until the lease
 * is past a claimed key throws MailClaimHeld, so two instances never send it side by side.
 */
export function createSmtpMailer(options: SmtpMailerOptions): SmtpMailer {
  const transport = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  const clock = options.clock ?? (() => new Date());
  const leaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  const log = options.logger?.child({ component: 'mailer' });
  const domain = domainOf(options.from);
  const { sql } = options;

  /** Whether this try holds the key: a new claim, or one whose lease is past (never a sent key). */
  async function claim(key: string, now: Date): Promise<'claimed' | 'sent'> {
    const claimed = await sql.query(
      `INSERT INTO tessera_sent_mail (key, claimed_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET claimed_at = EXCLUDED.claimed_at
         WHERE tessera_sent_mail.sent_at IS NULL AND tessera_sent_mail.claimed_at < $3`,
      [key, now, new Date(now.getTime() - leaseMs)],
    );
    if (claimed.rowCount === 1) return 'claimed';
    const { rows } = await sql.query<{ sent_at: Date | null }>('SELECT sent_at FROM tessera_sent_mail WHERE key = $1', [key]);
    if (rows[0]?.sent_at) return 'sent';
    throw new MailClaimHeld(key);
  }

  return {
    async send(message: MailMessage) {
      const now = clock();
      if ((await claim(message.key, now)) === 'sent') {
        log?.debug({ mail: { key: message.key } }, 'mail already sent; not sent again');
        return;
      }
      try {
        await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html ?? `<!doctype html><html><body><pre>${escapeHtml(message.text)}</pre></body></html>`,
          messageId: messageIdFor(message.key, domain),
        });
      } catch (error) {
        // Only this try's claim is released: a newer one (after our lease ran out) stays.
        await sql.query('DELETE FROM tessera_sent_mail WHERE key = $1 AND claimed_at = $2 AND sent_at IS NULL', [message.key, now]);
        throw error;
      }
      await sql.query('UPDATE tessera_sent_mail SET sent_at = $2 WHERE key = $1', [message.key, clock()]);
      log?.info({ mail: { key: message.key, email: message.to, subject: message.subject } }, 'mail sent');
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The Message-ID a key's mail carries, the same on every try: the key itself when it is a plain
 * token (our keys are UUIDs), else its SHA-256, at the From address's domain.
 */
export function messageIdFor(key: string, domain: string): string {
  const local = /^[A-Za-z0-9._-]{1,128}$/.test(key) ? key : createHash('sha256').update(key).digest('hex');
  return `<${local}@${domain}>`;
}

function domainOf(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  const at = address.lastIndexOf('@');
  return at < 0 ? 'tessera.invalid' : address.slice(at + 1).trim().toLowerCase();
}
