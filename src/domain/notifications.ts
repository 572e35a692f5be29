import type { TicketLine } from './purchase-quote.js';
import type { PurchaseQuote } from './purchase-quote.js';

/**
 * The mail Tessera sends (issue 22): receipts, refund confirmations, group payment links and
 * reminders, each rendered as plain text and as simple HTML. Pure: the process managers gather
 * the facts from the events, these only write them down. Every value put into the HTML is
 * escaped (names and ids can come from requests), and no card data is ever part of one.
 */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Escapes text for HTML element content and double-quoted attributes. */
export const escapeHtml = (value: string): string =>
  value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

/** Integer cents as the currency's amount, e.g. 11765 USD -> "$117.65". */
export const formatMoney = (cents: number, currency: string): string =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(cents / 100);

/** One line of a mail: a label and its value, rendered as `label: value` and as a table row. */
type Row = readonly [label: string, value: string];

/** Text and HTML from the same paragraphs and rows, so the two versions never say different things. */
function render(subject: string, intro: string, rows: readonly Row[], outro?: { readonly text: string; readonly link?: string }): RenderedMail {
  const text = [intro, '', ...rows.map(([label, value]) => `${label}: ${value}`), ...(outro ? ['', outro.text, ...(outro.link ? [outro.link] : [])] : [])].join('\n');
  const table = rows.length === 0 ? '' : `<table>${rows.map(([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td align="right">${escapeHtml(value)}</td></tr>`).join('')}</table>`;
  const link = outro?.link ? `<p><a href="${escapeHtml(outro.link)}">${escapeHtml(outro.link)}</a></p>` : '';
  const html = `<!doctype html><html><body><p>${escapeHtml(intro)}</p>${table}${outro ? `<p>${escapeHtml(outro.text)}</p>${link}` : ''}</body></html>`;
  return { subject, text: `${text}\n`, html };
}

export interface ReceiptFacts {
  readonly transactionId: string;
  readonly tickets: readonly TicketLine[];
  readonly quote: PurchaseQuote;
  /** The amount captured (the quote's total). */
  readonly amount: number;
  readonly capturedAt: string;
}

/** The receipt of a captured payment: each ticket line, the fees, the buyer's taxes, the total. */
export function receiptMail(facts: ReceiptFacts): RenderedMail {
  const { quote } = facts;
  const money = (cents: number) => formatMoney(cents, quote.currency);
  const rows: Row[] = [
    ['Transaction', facts.transactionId],
    ['Date', facts.capturedAt],
    ...facts.tickets.map((line): Row => [`${line.quantity} x ticket ${line.ticketTypeId}${line.seatNumbers?.length ? ` (seats ${line.seatNumbers.join(', ')})` : ''}`, money(line.quantity * line.unitPrice)]),
    ['Tickets', money(quote.ticketPrice)],
    ['Platform fee', money(quote.platformFee.amount)],
    ...(quote.gas.amount > 0 ? [[`Blockchain fee (${quote.gas.chain})`, money(quote.gas.amount)] as Row] : []),
    ...quote.taxes.filter((tax) => tax.borneBy === 'buyer').map((tax): Row => [`${tax.name} (${formatRate(tax.ratePpm)})`, money(tax.amount)]),
    ['Total charged', money(facts.amount)],
  ];
  return render(`Your receipt for transaction ${facts.transactionId}`, 'Thank you for your purchase. This is your receipt.', rows);
}

export interface RefundFacts {
  readonly transactionId: string;
  readonly refundId: string;
  readonly currency: string;
  readonly amount: number;
  /** What remains captured (and refundable) after this refund. */
  readonly remaining: number;
}

export function refundConfirmationMail(facts: RefundFacts): RenderedMail {
  const money = (cents: number) => formatMoney(cents, facts.currency);
  return render(
    `Your refund for transaction ${facts.transactionId}`,
    'Your refund has been paid back to the card you bought with. It can take a few days to show on your statement.',
    [
      ['Transaction', facts.transactionId],
      ['Refund', facts.refundId],
      ['Refunded', money(facts.amount)],
      ['Remaining on the transaction', money(facts.remaining)],
    ],
  );
}

export interface GroupReceiptFacts {
  readonly groupId: string;
  readonly memberName: string;
  readonly ticketCount: number;
  /** What this member's card was charged: their share. */
  readonly amount: number;
  /** The whole group purchase, every share together. */
  readonly total: number;
  readonly currency: string;
  readonly completedAt: string;
}

/** A group member's receipt once every share was captured: their share and the whole purchase. */
export function groupReceiptMail(facts: GroupReceiptFacts): RenderedMail {
  const money = (cents: number) => formatMoney(cents, facts.currency);
  return render(
    `Your receipt for group purchase ${facts.groupId}`,
    `Thank you, ${facts.memberName}. Every share of your group's purchase has been paid, and the tickets are yours. This is your receipt.`,
    [
      ['Group purchase', facts.groupId],
      ['Date', facts.completedAt],
      ['Your tickets', String(facts.ticketCount)],
      ['Your share charged', money(facts.amount)],
      ['Group total', money(facts.total)],
    ],
  );
}

export interface GroupLinkFacts {
  readonly amountDue: number;
  readonly currency: string;
  readonly link: string;
  readonly expiresAt: string;
}

export const groupPaymentLinkMail = (facts: GroupLinkFacts): RenderedMail =>
  render(
    'Your share of a group ticket purchase',
    `You have been invited to pay your share of a group ticket purchase: ${formatMoney(facts.amountDue, facts.currency)} by ${facts.expiresAt}.`,
    [],
    { text: 'Pay your share here:', link: facts.link },
  );

export const groupPaymentReminderMail = (facts: Omit<GroupLinkFacts, 'expiresAt'>): RenderedMail =>
  render(
    'Reminder: your share of a group ticket purchase',
    `Your share of a group ticket purchase, ${formatMoney(facts.amountDue, facts.currency)}, is still unpaid; the group expires soon.`,
    [],
    { text: 'Pay your share here:', link: facts.link },
  );

/** Parts per million as a percentage, e.g. 92_500 -> "9.25%". */
const formatRate = (ppm: number): string => `${Number((ppm / 10_000).toFixed(4))}%`;
