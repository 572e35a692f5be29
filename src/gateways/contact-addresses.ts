import type { SqlExecutor } from '../db/sql-client.js';

/**
 * Where a tenant's user gets receipts and refund confirmations (tessera_contact_addresses): the
 * `email` claim of the token they last bought with. Kept beside the events, not in them: events
 * hold references, not plain personal data, and forgetting an address is deleting its row.
 */
export interface ContactAddresses {
  record(tenantId: string, userId: string, email: string, at: Date): Promise<void>;
  find(tenantId: string, userId: string): Promise<string | undefined>;
}

export function sqlContactAddresses(sql: SqlExecutor): ContactAddresses {
  return {
    async record(tenantId, userId, email, at) {
      await sql.query(
        `INSERT INTO tessera_contact_addresses (tenant_id, user_id, email, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET email = EXCLUDED.email, updated_at = EXCLUDED.updated_at
           WHERE tessera_contact_addresses.email <> EXCLUDED.email`,
        [tenantId, userId, email, at],
      );
    },
    async find(tenantId, userId) {
      const { rows } = await sql.query<{ email: string }>('SELECT email FROM tessera_contact_addresses WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
      return rows[0]?.email;
    },
  };
}
