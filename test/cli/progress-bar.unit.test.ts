import { describe, expect, it } from 'vitest';
import { describe as describeProgress, duration, progressBar, type ProgressOutput } from '../../src/cli/progress-bar.js';
import type { MaintenanceProgress } from '../../src/projections/engine/maintenance.js';

const progress = (change: Partial<MaintenanceProgress>): MaintenanceProgress => ({
  operation: 'rebuild',
  phase: 'replaying',
  projections: ['ledger'],
  events: 0,
  total: 100_000,
  position: null,
  ...change,
});

function output(isTTY: boolean): ProgressOutput & { text: string } {
  const out = { text: '', isTTY, columns: 120, write: (chunk: string) => (out.text += chunk) };
  return out;
}

describe('the progress bar', () => {
  it('shows events done of the total, the rate and the time left', () => {
    expect(describeProgress(progress({ events: 40_000 }), 2)).toBe(
      'rebuild ledger  replaying    [##########--------------]  40%  40,000 / 100,000 events  20,000 ev/s  ETA 0:03',
    );
  });

  it('shows a count without a bar when the store cannot estimate the total', () => {
    expect(describeProgress(progress({ events: 500, total: null, operation: 'verify', phase: 'comparing' }), 1)).toBe(
      'verify ledger  comparing    500 events  500 ev/s',
    );
  });

  it('redraws one line in place on a terminal, at most once per interval, and ends it when finished', () => {
    let now = 0;
    const out = output(true);
    const bar = progressBar(out, { now: () => now, intervalMs: 100 });
    bar.onProgress(progress({ phase: 'preparing' }));
    bar.onProgress(progress({ events: 2_000 }));
    now = 50;
    bar.onProgress(progress({ events: 4_000 }));
    now = 150;
    bar.onProgress(progress({ events: 6_000 }));
    bar.finish();
    const frames = out.text.split('\r').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[2]).toMatch(/^rebuild ledger {2}replaying .*6,000 \/ 100,000 events {2}40,000 ev\/s {2}ETA 0:02 *\n$/);
    expect(out.text.match(/\n/g)).toHaveLength(1);
  });

  it('writes plain lines where stderr is not a terminal: one per phase, and between them one per interval', () => {
    let now = 0;
    const out = output(false);
    const bar = progressBar(out, { now: () => now, intervalMs: 2000 });
    bar.onProgress(progress({ phase: 'replaying', events: 2_000 }));
    for (now = 100; now < 1000; now += 100) bar.onProgress(progress({ events: now * 10 }));
    now = 2500;
    bar.onProgress(progress({ events: 50_000 }));
    bar.onProgress(progress({ phase: 'done', events: 100_000 }));
    bar.finish();
    expect(out.text).not.toContain('\r');
    expect(out.text.trimEnd().split('\n').map((line) => line.split('  ')[1]!.trim())).toEqual(['replaying', 'replaying', 'done']);
  });

  it('formats the time left as m:ss, or h:mm:ss from an hour', () => {
    expect([duration(5), duration(65), duration(3_725)]).toEqual(['0:05', '1:05', '1:02:05']);
  });
});
