import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMoney } from '../../src/domain/notifications.js';
import { bearer, testApp, type TestApp } from '../support/app.js';
import { BUYER, completedPurchase, EVENT_ID, refund, ticketTypeAt, ticketTypeFor, venueAt } from '../support/payments-http.js';
import { eventually } from '../support/poll.js';
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.js';

/**
 * Notifications over a real SMTP server in process (issue 22): a buyer whose token carries an
 * `email` claim gets a receipt when the payment is captured and a confirmation when a refund is
 * paid; group members get their payment links; a buyer without an address gets nothing.
 */
const FAST = { DEADLINE_POLL_MS: '20', PM_RETRY_INITIAL_MS: '20', PM_RETRY_MAX_MS: '100', PM_MAX_ATTEMPTS: '50' };

describe('notifications by SMTP', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let venueId: string;
  const mailTo = (address: string, subject: string) => (): ReceivedMail[] | undefined => {
    const found = smtp.received.filter((mail) => mail.to.includes(address) && mail.header('subject') === subject);
    return found.length > 0 ? found : undefined;
  };

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    t = await testApp({ background: true, env: { ...FAST, SMTP_URL: smtp.url, MAIL_FROM: 'tickets@example.com', GROUP_PAYMENT_REMINDER_MS: '0' } });
    venueId = await venueAt(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('mails a receipt with the transaction id and the total, then a refund confirmation for a full refund', async () => {
    const headers = await bearer({ sub: BUYER, email: 'buyer@example.com' });
    const transaction = await completedPurchase(t, venueId, { headers });
    const [receipt, ...more] = await eventually(mailTo('buyer@example.com', `Your receipt for transaction ${transaction.id}`), { timeoutMs: 10_000 });
    expect(more).toHaveLength(0);
    expect(receipt!.from).toBe('tickets@example.com');
    expect(receipt!.decoded).toContain(`Transaction: ${transaction.id}`);
    expect(receipt!.decoded).toContain(`Total charged: ${formatMoney(transaction.amount, 'USD')}`);
    expect(receipt!.decoded).not.toContain('pm_card_visa');

    expect((await refund(t, transaction.id, { headers })).statusCode).toBe(200);
    const [confirmation] = await eventually(mailTo('buyer@example.com', `Your refund for transaction ${transaction.id}`), { timeoutMs: 10_000 });
    expect(confirmation!.decoded).toContain(`Refunded: ${formatMoney(transaction.amount, 'USD')}`);
    expect(confirmation!.decoded).toContain('Remaining on the transaction: $0.00');
  });

  it('sends the receipt once the SMTP server accepts again after refusing it (451)', async () => {
    smtp.refuseWith(451);
    const refusedBefore = smtp.refused;
    const transaction = await completedPurchase(t, venueId, { headers: await bearer({ sub: 'buyer-2', email: 'second@example.com' }) });
    await eventually(() => (smtp.refused > refusedBefore ? true : undefined), { timeoutMs: 10_000 });
    smtp.refuseWith(undefined);
    const subject = `Your receipt for transaction ${transaction.id}`;
    await eventually(mailTo('second@example.com', subject), { timeoutMs: 10_000 });
    // The retried step and anything after it find the key sent: one receipt, however long we wait.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailTo('second@example.com', subject)()).toHaveLength(1);
  });

  it('sends no receipt to a buyer whose token carries no address, and counts it', async () => {
    const counted = async () => (await t.tessera.services.metrics.notificationsUnaddressed.get()).values.find((v) => v.labels.kind === 'receipt')?.value ?? 0;
    const before = await counted();
    const transaction = await completedPurchase(t, venueId, { headers: await bearer({ sub: 'no-address' }) });
    await eventually(async () => ((await counted()) > before ? true : undefined), { timeoutMs: 10_000 });
    expect(smtp.received.filter((mail) => mail.header('subject')?.includes(transaction.id))).toHaveLength(0);
  });

  it('mails each group member their payment link, and a receipt for their share once every share is paid', async () => {
    await ticketTypeAt(t, venueId, 5_000);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/group-payments/create',
      headers: { ...(await bearer({ sub: 'organizer-1' })), 'idempotency-key': randomUUID() },
      payload: {
        venueId,
        eventId: EVENT_ID,
        ticketSelections: [{ ticketTypeId: ticketTypeFor(5_000), quantity: 2, price: 5_000 }],
        members: [1, 2].map((i) => ({ email: `friend${i}@example.com`, name: `Friend ${i}`, ticketCount: 1 })),
      },
    });
    expect(created.statusCode).toBe(201);
    const { groupPayment, paymentLinks } = created.json<{
      groupPayment: { id: string; totalAmount: number };
      paymentLinks: { memberId: string; email: string; amount: number; link: string }[];
    }>();
    for (const link of paymentLinks) {
      const [mail, ...more] = await eventually(mailTo(link.email, 'Your share of a group ticket purchase'), { timeoutMs: 10_000 });
      expect(more).toHaveLength(0);
      expect(mail!.decoded).toContain(link.link);
      expect(mail!.decoded).toContain(formatMoney(link.amount, 'USD'));
    }

    for (const link of paymentLinks) {
      const paid = await t.app.inject({
        method: 'POST',
        url: `/api/v1/group-payments/${groupPayment.id}/contribute/${link.memberId}`,
        headers: { ...(await bearer({ sub: `payer-${link.memberId}` })), 'idempotency-key': randomUUID() },
        payload: { paymentMethodId: 'pm_card_visa', token: new URL(link.link).searchParams.get('token') },
      });
      expect(paid.statusCode, paid.body).toBeLessThan(300);
    }
    for (const link of paymentLinks) {
      const [receipt, ...more] = await eventually(mailTo(link.email, `Your receipt for group purchase ${groupPayment.id}`), { timeoutMs: 15_000 });
      expect(more).toHaveLength(0);
      expect(receipt!.decoded).toContain(`Your share charged: ${formatMoney(link.amount, 'USD')}`);
      expect(receipt!.decoded).toContain(`Group total: ${formatMoney(groupPayment.totalAmount, 'USD')}`);
      expect(receipt!.decoded).toContain('Your tickets: 1');
    }
  });
});
