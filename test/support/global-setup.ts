import { ensureTemplate } from './pglite-template.js';

/** Runs once before every test file: prepares the migrated PGlite template they all load. */
export default async function setup(): Promise<void> {
  await ensureTemplate();
}
