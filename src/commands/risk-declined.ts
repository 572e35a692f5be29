import type { RiskDeclineCode } from '../domain/risk.js';
import { TesseraError } from '../errors.js';

const MESSAGES: Record<RiskDeclineCode, string> = {
  BOT_DETECTED: 'automated behaviour detected; the purchase was refused',
  VELOCITY_LIMIT_EXCEEDED: 'too many purchases in a short time; try again later',
  PURCHASE_LIMIT_EXCEEDED: 'the purchase would exceed the tickets one buyer may have for this event',
  FRAUD_DETECTED: 'the purchase was refused by fraud screening',
};

const isDeclineCode = (code: string | undefined): code is RiskDeclineCode => code !== undefined && code in MESSAGES;

/**
 * The answer to a purchase the risk assessment declined (recorded with code `risk_declined` and
 * the decline code): the seed's 403 BOT_DETECTED / FRAUD_DETECTED / PURCHASE_LIMIT_EXCEEDED or 429
 * VELOCITY_LIMIT_EXCEEDED. `expose` names what was refused; which rules fired stays with the analyst.
 */
export function riskDeclinedError(declineCode: string | undefined, expose: Readonly<Record<string, string | number | boolean>>): TesseraError {
  const code = isDeclineCode(declineCode) ? declineCode : 'FRAUD_DETECTED';
  return new TesseraError(code, MESSAGES[code], { expose });
}
