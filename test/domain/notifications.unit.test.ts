import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  formatMoney,
  groupPaymentLinkMail,
  groupReceiptMail,
  groupPaymentReminderMail,
  receiptMail,
  refundConfirmationMail,
} from '../../src/domain/notifications.js';
import { quotePurchase, type TicketLine } from '../../src/domain/purchase-quote.js';

const quote = quotePurchase({ ticketPrice: 20_000, ticketCount: 2, venueAddress: { city: 'Nashville', state: 'TN' }, trailingVolume: 0, chain: 'polygon' });
const tickets: TicketLine[] = [{ ticketTypeId: 'general<script>', quantity: 2, unitPrice: 10_000, priceSource: 'catalogue', seatNumbers: ['A1', 'A2'] }];
const receipt = receiptMail({ transactionId: 'tx-1', tickets, quote, amount: quote.total, capturedAt: '2026-12-07T22:00:00.000Z' });

describe('mail templates', () => {
  it('formats integer cents as the currency amount', () => {
    expect(formatMoney(11_765, 'USD')).toBe('$117.65');
    expect(formatMoney(5, 'USD')).toBe('$0.05');
    expect(formatMoney(123_456_789, 'USD')).toBe('$1,234,567.89');
  });

  it('escapes every character that could open markup or an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('writes a receipt with the transaction id, each ticket line, the fees, the buyer taxes and the total', () => {
    expect(receipt.subject).toBe('Your receipt for transaction tx-1');
    expect(receipt.text).toContain('Transaction: tx-1');
    expect(receipt.text).toContain('2 x ticket general<script> (seats A1, A2): $200.00');
    expect(receipt.text).toContain(`Platform fee: ${formatMoney(quote.platformFee.amount, 'USD')}`);
    expect(receipt.text).toContain(`Blockchain fee (polygon): ${formatMoney(quote.gas.amount, 'USD')}`);
    const buyerTaxes = quote.taxes.filter((tax) => tax.borneBy === 'buyer');
    expect(buyerTaxes.length).toBeGreaterThan(0);
    for (const tax of buyerTaxes) expect(receipt.text).toContain(`${tax.name} (`);
    expect(receipt.text).toContain(`Total charged: ${formatMoney(quote.total, 'USD')}`);
    expect(quote.total).toBe(quote.ticketPrice + quote.platformFee.amount + quote.gas.amount + quote.buyerTax);
  });

  it('puts no unescaped interpolated value into the HTML', () => {
    expect(receipt.html).not.toContain('<script>');
    expect(receipt.html).toContain('2 x ticket general&lt;script&gt; (seats A1, A2)');
    expect(receipt.html).toContain(escapeHtml(formatMoney(quote.total, 'USD')));
  });

  it('writes a tax rate as a percentage', () => {
    const tn = quote.taxes.find((tax) => tax.ratePpm === 70_000);
    expect(tn).toBeDefined();
    expect(receipt.text).toContain(`${tn!.name} (7%)`);
  });

  it('confirms a refund with the amount refunded and what remains', () => {
    const mail = refundConfirmationMail({ transactionId: 'tx-1', refundId: 'rf-1', currency: 'USD', amount: 5_000, remaining: 6_765 });
    expect(mail.subject).toBe('Your refund for transaction tx-1');
    expect(mail.text).toContain('Refunded: $50.00');
    expect(mail.text).toContain('Remaining on the transaction: $67.65');
    expect(mail.html).toContain('<td align="right">$67.65</td>');
  });

  it('mails a group member the share, the deadline and the payment link, the link escaped in the HTML', () => {
    const link = 'https://app.example.com/group-payment/g/m?token=a&b="c"';
    const mail = groupPaymentLinkMail({ amountDue: 5_000, currency: 'USD', link, expiresAt: '2026-12-07T22:10:00.000Z' });
    expect(mail.text).toContain('$50.00 by 2026-12-07T22:10:00.000Z');
    expect(mail.text).toContain(link);
    expect(mail.html).toContain('href="https://app.example.com/group-payment/g/m?token=a&amp;b=&quot;c&quot;"');
    expect(mail.html).not.toContain(link);
    const reminder = groupPaymentReminderMail({ amountDue: 5_000, currency: 'USD', link });
    expect(reminder.subject).toBe('Reminder: your share of a group ticket purchase');
    expect(reminder.text).toContain(link);
  });

  it("gives a group member a receipt of their share and the group's total, their name escaped in the HTML", () => {
    const mail = groupReceiptMail({ groupId: 'g-1', memberName: 'Ann <b>', ticketCount: 2, amount: 11_765, total: 23_530, currency: 'USD', completedAt: '2026-12-07T22:00:00.000Z' });
    expect(mail.subject).toBe('Your receipt for group purchase g-1');
    expect(mail.text).toContain('Your share charged: $117.65');
    expect(mail.text).toContain('Group total: $235.30');
    expect(mail.text).toContain('Your tickets: 2');
    expect(mail.html).toContain('Ann &lt;b&gt;');
    expect(mail.html).not.toContain('Ann <b>');
  });
});
