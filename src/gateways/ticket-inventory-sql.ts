import type { HoldRequest, ReserveOutcome, SettleOutcome, TicketInventoryStore } from '../commands/ticket-inventory.js';
import type { SqlClient } from '../db/sql-client.js';

/**
 * The ticket inventory in the SQL database every API instance shares (PostgreSQL, or PGlite for
 * a single process): one statement per step, the plpgsql functions of
 * migrations/0014_ticket_inventory.sql, which lock a hold's counters in one order and check
 * before they count, so concurrent reservations never pass a capacity or a limit together.
 */
export function createSqlTicketInventoryStore(sql: SqlClient): TicketInventoryStore {
  return {
    async reserve(hold: HoldRequest) {
      const { rows } = await sql.query<{ outcome: ReserveOutcome }>(
        'SELECT tessera_inventory_reserve($1, $2, $3, $4::jsonb, $5, $6) AS outcome',
        [hold.id, hold.scope, hold.streamId, JSON.stringify(hold.items), hold.orderMax, hold.at],
      );
      return rows[0]!.outcome;
    },
    async settle(id, status, at) {
      const { rows } = await sql.query<{ outcome: SettleOutcome }>('SELECT tessera_inventory_settle($1, $2, $3) AS outcome', [id, status, at]);
      return rows[0]!.outcome;
    },
    async ticketTypeCounts(scope) {
      const { rows } = await sql.query<{ key: string; held: number; sold: number }>(
        "SELECT key, held, sold FROM tessera_inventory_counts WHERE scope = $1 AND kind = 'ticket_type'",
        [scope],
      );
      return new Map(rows.map((row) => [row.key, { held: Number(row.held), sold: Number(row.sold) }]));
    },
    async unconfirmed(before, limit) {
      const { rows } = await sql.query<{ id: string; stream_id: string }>(
        "SELECT id, stream_id FROM tessera_inventory_holds WHERE NOT confirmed AND status <> 'released' AND created_at < $1 ORDER BY created_at LIMIT $2",
        [before, limit],
      );
      return rows.map((row) => ({ id: row.id, streamId: row.stream_id }));
    },
    async confirm(id) {
      await sql.query('UPDATE tessera_inventory_holds SET confirmed = true WHERE id = $1', [id]);
    },
  };
}
