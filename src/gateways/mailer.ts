import type { Logger } from '../logger.js';

/**
 * The mailer port: group payment links and reminders go out through it. `key` identifies the
 * message (derived from the event that caused it), so a provider that deduplicates by key sends
 * a retried message once.
 */
export interface MailMessage {
  readonly key: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
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
