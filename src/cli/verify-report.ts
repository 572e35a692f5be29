import type { TableComparison } from '../projections/engine/compare-tables.js';
import type { VerifyReport } from '../projections/engine/verify.js';

/**
 * The verify report for people: a line per projection and table, and under each difference the
 * rows themselves (at most the report's limit of each kind; the counts are complete).
 */
export function formatVerifyReport(report: VerifyReport): string {
  const out: string[] = [];
  for (const projection of report.projections) {
    const at = projection.checkpoint ?? 'no events';
    out.push(`${projection.ok ? 'OK  ' : 'FAIL'} ${projection.name} (version ${projection.version}) at ${at}`);
    for (const table of projection.tables) out.push(...formatTable(table));
    for (const check of projection.checks) {
      out.push(`     ${check.ok ? 'ok  ' : 'FAIL'} check: ${check.name}`);
      if (!check.ok) out.push(`          ${JSON.stringify(check.details)}`);
    }
  }
  const seconds = (report.durationMs / 1000).toFixed(1);
  out.push(
    report.ok
      ? `verified: every read model equals its rebuild from ${report.events} events (${seconds} s)`
      : `DIFFERENCES: the read models do not match a rebuild from ${report.events} events (${seconds} s)`,
  );
  return `${out.join('\n')}\n`;
}

function formatTable(table: TableComparison): string[] {
  const { missing, extra, differing } = table.counts;
  const lines = [
    `     ${table.ok ? 'ok  ' : 'FAIL'} table ${table.table}: ${table.liveRows} live rows, ${table.rebuiltRows} rebuilt` +
      (table.ok ? '' : `; ${differing} differing, ${missing} missing, ${extra} extra`),
  ];
  for (const row of table.differing) {
    lines.push(`          differing ${JSON.stringify(row.key)} in ${row.columns.join(', ')}`);
    for (const column of row.columns) {
      lines.push(`            ${column}: live ${JSON.stringify(row.live[column])}, rebuilt ${JSON.stringify(row.rebuilt[column])}`);
    }
  }
  for (const row of table.missing) lines.push(`          missing (rebuilt, not live) ${JSON.stringify(row)}`);
  for (const row of table.extra) lines.push(`          extra (live, not rebuilt) ${JSON.stringify(row)}`);
  return lines;
}
