-- Notifications (issue 22): the mail each message key has claimed and sent (src/gateways/mailer-smtp.ts),
-- so a process manager step run again after a crash or a failure sends its message once. Neither
-- the address nor the body is kept: the key (derived from the causing event) is enough.
CREATE TABLE tessera_sent_mail (
  key text PRIMARY KEY,
  -- When this key's send began; a claim never marked sent is taken over once its lease is past.
  claimed_at timestamptz NOT NULL,
  -- When the SMTP server accepted the message; NULL while the send is in hand (or was cut off).
  sent_at timestamptz
);

-- Where a tenant's user wants receipts and refund confirmations: the `email` claim of their last
-- purchase token. Not an event: events hold references, not plain personal data, and erasing a
-- user's address is deleting this row.
CREATE TABLE tessera_contact_addresses (
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  email text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
);
