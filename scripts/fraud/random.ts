/** A seeded random source and the few distributions the synthetic purchases are drawn from. */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(min: number, max: number): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  normal(mean: number, sd: number): number;
  /** e^N(ln median, sigma): amounts, ages, gaps between clicks. */
  logNormal(median: number, sigma: number): number;
  /** Small counts: extra purchases in a window. */
  poisson(mean: number): number;
  /** A key of `weights`, drawn in proportion to its weight. */
  pick<K extends string>(weights: Readonly<Record<K, number>>): K;
}

/** mulberry32: 32 bits of state, fast, and the same sequence for a seed on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  const normal = (mean: number, sd: number): number => {
    // Box-Muller; 1 - next() keeps the logarithm's argument above 0.
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    return mean + sd * r * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    normal,
    logNormal: (median, sigma) => median * Math.exp(normal(0, sigma)),
    poisson(mean) {
      const limit = Math.exp(-mean);
      let k = 0;
      for (let p = next(); p > limit; p *= next()) k++;
      return k;
    },
    pick(weights) {
      const keys = Object.keys(weights) as (keyof typeof weights)[];
      const total = keys.reduce((sum, key) => sum + weights[key], 0);
      let r = next() * total;
      for (const key of keys) {
        r -= weights[key];
        if (r < 0) return key;
      }
      return keys[keys.length - 1]!;
    },
  };
}
