import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('resale and minting configuration', () => {
  it("defaults to the seed's caps (50% to 250% of face value) and a 10% venue, 5% platform split", () => {
    expect(loadConfig({})).toMatchObject({
      RESALE_MAX_PRICE_BPS: 25_000,
      RESALE_MIN_PRICE_BPS: 5_000,
      RESALE_VENUE_ROYALTY_BPS: 1_000,
      RESALE_PLATFORM_FEE_BPS: 500,
      RESALE_VENUE_RULES: {},
      MINT_MAX_ATTEMPTS: 3,
      MINT_VENUE_PRIORITY: {},
    });
  });

  it('reads per-venue rules and priorities from JSON', () => {
    const config = loadConfig({
      RESALE_VENUE_RULES: '{"v1": {"maxPriceBps": 15000, "artistId": "artist-7"}}',
      MINT_VENUE_PRIORITY: '{"v1": "urgent"}',
    });
    expect(config.RESALE_VENUE_RULES).toEqual({ v1: { maxPriceBps: 15_000, artistId: 'artist-7' } });
    expect(config.MINT_VENUE_PRIORITY).toEqual({ v1: 'urgent' });
  });

  it('stops on malformed JSON, an unknown rule, a bad priority, or rates that take more than the price', () => {
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{not json' })).toThrow(/RESALE_VENUE_RULES: must be a JSON object/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"markup": 3}}' })).toThrow(/RESALE_VENUE_RULES/);
    expect(() => loadConfig({ MINT_VENUE_PRIORITY: '{"v1": "asap"}' })).toThrow(/MINT_VENUE_PRIORITY/);
    expect(() => loadConfig({ RESALE_VENUE_ROYALTY_BPS: '6000', RESALE_PLATFORM_FEE_BPS: '5000' })).toThrow(/more than 10000 bps/);
    expect(() => loadConfig({ RESALE_MIN_PRICE_BPS: '9000', RESALE_MAX_PRICE_BPS: '8000' })).toThrow(/RESALE_MIN_PRICE_BPS/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"venueRoyaltyBps": 9900}}' })).toThrow(/RESALE_VENUE_RULES: venue v1: royalties and fee/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"minPriceBps": 9000, "maxPriceBps": 8000}}' })).toThrow(/venue v1: minimum price above/);
  });
});
