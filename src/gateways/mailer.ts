import type { Logger } from '../logger.js';

/**
 * The mailer port: receipts, refund confirmations, group payment links and reminders go out
 * through it. `key` identifies the message (derived from the event that caused it), so a mailer
 * that deduplicates by key (src/gateways/mailer-smtp.ts) sends a retried message once.
 */
export interface MailMessage {
  readonly key: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The same message as simple HTML, every interpolated value escaped (src/domain/notifications.ts). */
  readonly html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** The embedded default: logs each message (the address under `mail.email`, which the logger redacts). */
export function logMailer(logger?: Logger): Mailer {
  const log = logger?.child({ component: 'mailer' });
  return {
    send(message) {
      log?.info({ mail: { key: message.key, email: message.to, subject: message.subject } }, 'mail sent');
      return Promise.resolve();
    },
  };
}
