/**
 * Synthetic checkout sessions, scored by the real botScore() so the data set's bot scores take
 * the values production sees: 0.5 without a session, a person mostly 0.1 (a desktop, or a phone
 * that says it has a touch screen), a scripted bot near 1, an evasive one anywhere between,
 * including bots that claim a touch screen to pass as phones.
 */
import { botScore, type SessionSignals } from '../../src/domain/risk.js';
import type { Random } from './random.js';

export type SessionKind = 'none' | 'desktop' | 'phone' | 'hurried' | 'one-tap' | 'headless' | 'scripted' | 'evasive' | 'evasive-touch';

type Action = NonNullable<SessionSignals['actions']>[number];

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

/** A person's checkout: most on a desktop or a phone; some phones pay a saved card in two taps. */
export function humanSession(rng: Random, hurried = false): SessionKind {
  if (rng.chance(0.05)) return 'none';
  if (hurried) return 'hurried';
  return rng.pick({ desktop: 0.55, phone: 0.4, 'one-tap': 0.05 });
}

/** Most bots drive a headless browser or replay a script; a quarter work at looking human, some of those as a phone. */
export function botSession(rng: Random): SessionKind {
  return rng.pick({ none: 0.1, headless: 0.35, scripted: 0.3, evasive: 0.15, 'evasive-touch': 0.1 });
}

export function sessionSignal(kind: SessionKind, rng: Random): { hasSession: boolean; botScore: number } {
  const session = sessionOf(kind, rng);
  return { hasSession: session !== undefined, botScore: botScore(session) };
}

function sessionOf(kind: SessionKind, rng: Random): SessionSignals | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'desktop':
      return { actions: pointerPath(rng, rng.int(8, 30), () => rng.logNormal(600, 0.9)), browserFeatures: desktopBrowser(rng) };
    case 'phone':
      return { actions: taps(rng, rng.int(4, 15), () => rng.logNormal(900, 0.8)), browserFeatures: phoneBrowser(rng) };
    case 'hurried':
      return rng.chance(0.5)
        ? { actions: pointerPath(rng, rng.int(6, 12), () => rng.logNormal(600, 0.5)), browserFeatures: desktopBrowser(rng) }
        : { actions: taps(rng, rng.int(4, 8), () => rng.logNormal(700, 0.5)), browserFeatures: phoneBrowser(rng) };
    case 'one-tap':
      // Buy, then pay with the wallet: most of them well under 1.5 s apart.
      return { actions: taps(rng, 2, () => rng.logNormal(900, 0.6)), browserFeatures: phoneBrowser(rng) };
    case 'headless':
      return { actions: [], browserFeatures: { webdriver: rng.chance(0.6), headless: true, userAgent: CHROME, plugins: 0, languages: 0 } };
    case 'scripted': {
      const gap = rng.uniform(15, 80);
      return { actions: straightPath(rng, rng.int(6, 20), () => gap * (1 + rng.normal(0, 0.02))), browserFeatures: { userAgent: CHROME, plugins: 0, languages: rng.int(0, 1) } };
    }
    case 'evasive': {
      const median = rng.uniform(80, 400);
      const stripped = rng.chance(0.5);
      return {
        actions: pointerPath(rng, rng.int(4, 12), () => rng.logNormal(median, 0.4)),
        browserFeatures: { userAgent: CHROME, plugins: stripped ? 0 : rng.int(1, 5), languages: stripped ? 0 : rng.int(1, 3) },
      };
    }
    case 'evasive-touch': {
      // Claiming a touch screen costs a bot nothing and hides that it never moves a pointer.
      const median = rng.uniform(80, 400);
      return { actions: taps(rng, rng.int(2, 8), () => rng.logNormal(median, 0.4)), browserFeatures: { ...phoneBrowser(rng), ...(rng.chance(0.5) ? { languages: 0 } : {}) } };
    }
  }
}

const desktopBrowser = (rng: Random) => ({
  userAgent: CHROME,
  // Some privacy settings report neither plugins nor languages.
  ...(rng.chance(0.01) ? { plugins: 0, languages: 0 } : { plugins: rng.int(2, 5), languages: rng.int(1, 3) }),
  screenWidth: 1920,
  screenHeight: 1080,
});

const phoneBrowser = (rng: Random) => ({ userAgent: CHROME.replace('X11; Linux x86_64', 'Linux; Android 14'), plugins: 0, languages: rng.int(1, 3), screenWidth: 412, screenHeight: 915, touch: true });

function times(count: number, gap: () => number): number[] {
  const at = [0];
  for (let i = 1; i < count; i++) at.push(at[i - 1]! + gap());
  return at;
}

/** A hand on a mouse: a curved, shaky path toward the buttons, with a click now and then. */
function pointerPath(rng: Random, count: number, gap: () => number): Action[] {
  const [dx, dy, bow] = [rng.uniform(200, 900), rng.uniform(100, 600), rng.uniform(30, 120)];
  return times(count, gap).map((t, i) => {
    const s = i / Math.max(1, count - 1);
    const x = 100 + dx * s + bow * Math.sin(Math.PI * s) + rng.normal(0, 3);
    const y = 100 + dy * s + rng.normal(0, 3);
    return { type: i % 5 === 4 ? 'click' : 'mousemove', t, x, y };
  });
}

/** A script moving the pointer along a ruler between two points, then clicking. */
function straightPath(rng: Random, count: number, gap: () => number): Action[] {
  const [dx, dy] = [rng.uniform(200, 900), rng.uniform(100, 600)];
  return times(count, gap).map((t, i) => {
    const s = i / Math.max(1, count - 1);
    return { type: i === count - 1 ? 'click' : 'mousemove', t, x: 100 + dx * s, y: 100 + dy * s };
  });
}

/** A thumb on a touch screen: taps (the browser's clicks) and no pointer movement. */
function taps(rng: Random, count: number, gap: () => number): Action[] {
  return times(count, gap).map((t) => ({ type: 'click', t, x: rng.uniform(0, 400), y: rng.uniform(0, 900) }));
}
