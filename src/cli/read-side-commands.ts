import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { isTesseraError } from '../errors.js';
import type { Logger } from '../logger.js';
import { projections } from '../projections/all.js';
import { createReadSide, readSideSettings, type ReadSide } from '../projections/engine/read-side.js';
import { openStorage, type Storage } from '../runtime.js';
import { auditJsonLines, auditTable, auditTrail } from './audit.js';
import { progressBar, type ProgressOutput } from './progress-bar.js';
import { formatVerifyReport } from './verify-report.js';

/** The exit codes of the tessera command (README "Command line"). */
export const EXIT = {
  ok: 0,
  /** The command failed with an error (logged on stderr). */
  failed: 1,
  /** Unknown command, option or projection, or a missing argument. */
  usage: 2,
  /** verify: a read model differs from its rebuild, or a check (trial balance...) failed. */
  differences: 3,
  /** audit: the stream has no events. */
  notFound: 4,
  /** Interrupted (Ctrl-C); scratch work was dropped and the live read models were left as they were. */
  interrupted: 130,
  /** Another process is rebuilding or verifying one of the projections (EX_TEMPFAIL). */
  busy: 75,
  /** A bad configuration value (EX_CONFIG). */
  config: 78,
} as const;

export interface CommandIo {
  readonly stdout: ProgressOutput;
  readonly stderr: ProgressOutput;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function parse<T extends ParseArgsConfig['options']>(args: string[], options: T, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Opens the storage the server would: events and read models (no Redis: no command here uses it). */
async function withStorage<T>(config: Config, logger: Logger, work: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openStorage({ ...config, REDIS_URL: undefined }, logger);
  try {
    return await work(storage);
  } finally {
    await storage.close();
  }
}

/**
 * A read side that runs no live runners: a server elsewhere keeps running its own, and the
 * engine's locks and checkpoint compare-and-set keep the two apart.
 */
function withReadSide<T>(config: Config, logger: Logger, work: (readSide: ReadSide) => Promise<T>): Promise<T> {
  return withStorage(config, logger, async (storage) => {
    const readSide = createReadSide({ sql: storage.sql, store: storage.eventStore, logger, projections, ...readSideSettings(config) });
    // Ctrl-C aborts the rebuild or verify; its scratch schema is dropped on the way out.
    const interrupt = () => void readSide.stop();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      return await work(readSide);
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await readSide.stop();
    }
  });
}

/** Maps what a read-side command threw to an exit code and a line on stderr. */
function failure(error: unknown, io: CommandIo): number | undefined {
  if (error instanceof Error && error.name === 'AbortError') {
    io.stderr.write('tessera: interrupted; the live read models are unchanged\n');
    return EXIT.interrupted;
  }
  if (!isTesseraError(error)) return undefined;
  io.stderr.write(`tessera: ${error.message}\n`);
  if (error.code === 'PROJECTION_NOT_FOUND') {
    io.stderr.write(`projections: ${projections.map((p) => p.name).join(', ')}\n`);
    return EXIT.usage;
  }
  return error.code === 'REBUILD_IN_PROGRESS' ? EXIT.busy : undefined;
}

async function guarded(io: CommandIo, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    const code = failure(error, io);
    if (code === undefined) throw error;
    return code;
  }
}

/** `tessera replay [projection...]`: rebuilds beside the live tables and swaps the copies in. */
export function replayCommand(config: Config, logger: Logger, args: string[], io: CommandIo): Promise<number> {
  const { positionals, values } = parse(args, { json: { type: 'boolean' } }, true);
  return guarded(io, () =>
    withReadSide(config, logger, async (readSide) => {
      const bar = progressBar(io.stderr);
      try {
        const report = await readSide.rebuild(positionals.length > 0 ? positionals : undefined, bar.onProgress);
        bar.finish();
        const seconds = report.durationMs / 1000;
        if (values.json) io.stdout.write(`${JSON.stringify(report)}\n`);
        else {
          for (const p of report.projections) io.stdout.write(`rebuilt ${p.name} (version ${p.version}) up to ${p.checkpoint ?? 'no events'}\n`);
          io.stdout.write(`${report.events} events in ${seconds.toFixed(1)} s (${Math.round(report.events / Math.max(seconds, 0.001))} events/s)\n`);
        }
        return EXIT.ok;
      } finally {
        bar.finish();
      }
    }),
  );
}

/** `tessera verify`: rebuilds every read model into a scratch schema and compares. */
export function verifyCommand(config: Config, logger: Logger, args: string[], io: CommandIo): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } }, false);
  return guarded(io, () =>
    withReadSide(config, logger, async (readSide) => {
      const bar = progressBar(io.stderr);
      try {
        const report = await readSide.verify(bar.onProgress);
        bar.finish();
        io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatVerifyReport(report));
        return report.ok ? EXIT.ok : EXIT.differences;
      } finally {
        bar.finish();
      }
    }),
  );
}

/** `tessera audit <stream>`: every event of the stream with the aggregate's state after it. */
export function auditCommand(config: Config, logger: Logger, args: string[], io: CommandIo): Promise<number> {
  const { positionals, values } = parse(args, { format: { type: 'string' } }, true);
  const [stream, ...more] = positionals;
  if (!stream || more.length > 0) throw new UsageError('audit takes one stream name, e.g. tessera audit payment-<id>');
  const format = values.format ?? (io.stdout.isTTY ? 'table' : 'json');
  if (format !== 'json' && format !== 'table') throw new UsageError(`--format is json or table, not ${format}`);
  return guarded(io, () =>
    withStorage(config, logger, async (storage) => {
      const trail = await auditTrail(storage.eventStore, stream);
      if (trail.entries.length === 0) {
        io.stderr.write(`tessera: stream ${stream} has no events\n`);
        return EXIT.notFound;
      }
      io.stdout.write(format === 'json' ? auditJsonLines(trail) : auditTable(trail));
      return EXIT.ok;
    }),
  );
}
