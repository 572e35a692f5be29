import type { SqlExecutor } from '../db/sql-client.js';

/**
 * Which of our payments a gateway reference belongs to. The purchase process manager records
 * it as soon as the gateway names a PaymentIntent, before recording the outcome, so a webhook
 * that names only the intent (a dispute, a refund made in Stripe's dashboard) finds the payment.
 */
export interface GatewayReferences {
  remember(gateway: string, reference: string, paymentId: string): Promise<void>;
  paymentFor(gateway: string, reference: string): Promise<string | undefined>;
}

export function sqlGatewayReferences(sql: SqlExecutor): GatewayReferences {
  return {
    async remember(gateway, reference, paymentId) {
      await sql.query(
        'INSERT INTO tessera_gateway_references (gateway, reference, payment_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [gateway, reference, paymentId],
      );
    },
    async paymentFor(gateway, reference) {
      const { rows } = await sql.query<{ payment_id: string }>(
        'SELECT payment_id::text AS payment_id FROM tessera_gateway_references WHERE gateway = $1 AND reference = $2',
        [gateway, reference],
      );
      return rows[0]?.payment_id;
    },
  };
}
