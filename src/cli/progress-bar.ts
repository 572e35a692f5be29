import type { MaintenanceProgress, OnProgress } from '../projections/engine/maintenance.js';

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBarOptions {
  /** Least time between two redraws on a terminal, or two plain lines elsewhere. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export interface ProgressBar {
  readonly onProgress: OnProgress;
  /** Ends the bar's line on a terminal; call it once the work is over, however it ended. */
  finish(): void;
}

/**
 * Shows a rebuild's or verify's progress on `out` (stderr): events done of the estimated total,
 * the rate and the time left. On a terminal one line is redrawn in place; elsewhere (a log, a
 * pipe, CI) plain lines are written, one per phase and at most one per interval in between.
 */
export function progressBar(out: ProgressOutput, options: ProgressBarOptions = {}): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const tty = out.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 100 : 2000);
  let replayStarted: number | undefined;
  let lastDrawn = -Infinity;
  let lastPhase: string | undefined;
  let drawn = false;

  const onProgress: OnProgress = (progress) => {
    const at = now();
    if (progress.phase === 'replaying' && replayStarted === undefined) replayStarted = at;
    const phaseChanged = progress.phase !== lastPhase;
    lastPhase = progress.phase;
    if (!phaseChanged && at - lastDrawn < intervalMs) return;
    lastDrawn = at;
    const line = describe(progress, replayStarted === undefined ? 0 : (at - replayStarted) / 1000);
    if (tty) {
      const width = Math.max(20, (out.columns ?? 100) - 1);
      out.write(`\r${line.slice(0, width).padEnd(width)}`);
      drawn = true;
    } else {
      out.write(`${line}\n`);
    }
  };
  return {
    onProgress,
    finish() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

const BAR_WIDTH = 24;

/** One line: `verify ledger  replaying [######------]  40,000 / 100,000 events  25,000 ev/s  ETA 0:02`. */
export function describe(progress: MaintenanceProgress, seconds: number): string {
  const { operation, phase, projections, events, total } = progress;
  const parts = [`${operation} ${projections.join(', ')}`, phase.padEnd(11)];
  if (total !== null && total > 0) {
    const done = Math.min(1, events / total);
    const filled = Math.round(done * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(done * 100)).padStart(3)}%`);
    parts.push(`${count(events)} / ${count(total)} events`);
  } else {
    parts.push(`${count(events)} events`);
  }
  const rate = seconds > 0 ? events / seconds : 0;
  if (rate > 0) parts.push(`${count(Math.round(rate))} ev/s`);
  if (rate > 0 && total !== null && total > events && phase === 'replaying') parts.push(`ETA ${duration((total - events) / rate)}`);
  return parts.join('  ');
}

const count = (n: number) => n.toLocaleString('en-US');

/** `m:ss`, or `h:mm:ss` from an hour. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}
