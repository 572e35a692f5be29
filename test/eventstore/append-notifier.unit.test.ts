import { describe, expect, it } from 'vitest';
import { AppendNotifier } from '../../src/eventstore/append-notifier.js';

/** Whether the promise has settled once the callbacks queued so far have run. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('append notifier', () => {
  it('wakes a reader of one stream at an append to it, and not at appends to other streams', async () => {
    const notifier = new AppendNotifier();
    const ofA = notifier.wait(60_000, undefined, 'payment-a');
    notifier.notify('payment-b');
    expect(await settled(ofA)).toBe(false);
    notifier.notify('payment-a');
    expect(await settled(ofA)).toBe(true);
  });

  it('wakes readers of every append at any append', async () => {
    const notifier = new AppendNotifier();
    const any = notifier.wait(60_000);
    notifier.notify('payment-b');
    expect(await settled(any)).toBe(true);
  });

  it('wakes everyone when the store closes, and stops waiting on abort', async () => {
    const notifier = new AppendNotifier();
    const ofA = notifier.wait(60_000, undefined, 'payment-a');
    const any = notifier.wait(60_000);
    notifier.close();
    expect([await settled(ofA), await settled(any)]).toEqual([true, true]);
    const abort = new AbortController();
    const aborted = notifier.wait(60_000, abort.signal, 'payment-a');
    abort.abort();
    expect(await settled(aborted)).toBe(true);
  });
});
