import { ConfigError, loadConfig, type Config } from './config.js';
import { auditCommand, EXIT, replayCommand, UsageError, verifyCommand, type CommandIo } from './cli/read-side-commands.js';
import { migrate } from './db/migrate.js';
import { connectPostgres, openPglite } from './db/sql-client.js';
import { createLogger, type Logger } from './logger.js';
import { serve } from './server.js';
import { publishCommand } from './publishing.js';

const USAGE = `Usage: tessera <command> [arguments]

Commands:
  serve                      run the HTTP API (the default; what npm start runs)
  migrate                    apply pending database migrations and exit
  replay [projection...]     rebuild read models from the events beside the live ones and swap
                             them in (all when none is named); --json prints the report as JSON
  verify                     rebuild every read model into a scratch schema, compare it row by
                             row with the live one and check the trial balance; --json for JSON
  audit <stream>             every event of a stream with the aggregate's state after it;
                             --format json (JSON lines) or table (default: table on a terminal)
  publish --from <position>  send the integration events after <position> ("start": all) to the
    [--broker nats]          configured brokers again, with their original ids (events out)
  help                       show this text

Exit codes: 0 done, 1 failed, 2 usage, 3 verify found differences, 4 audit found no events,
75 another rebuild or verify is running, 78 bad configuration, 130 interrupted.
Configuration comes from environment variables; see README.md.`;

type Command = (config: Config, logger: Logger, args: string[], io: CommandIo) => Promise<number | void>;

const commands: Record<string, Command> = {
  serve: (config, logger) => serve(config, logger),
  async migrate(config, logger) {
    const sql = config.DATABASE_URL ? connectPostgres({ url: config.DATABASE_URL }) : await openPglite({ dataDir: config.DATA_DIR });
    try {
      const { applied } = await migrate(sql);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
    } finally {
      await sql.close();
    }
  },
  replay: replayCommand,
  verify: verifyCommand,
  audit: auditCommand,
  publish: publishCommand,
};

/** Commands whose stdout is their output: they log to stderr, and only warnings unless LOG_LEVEL says otherwise. */
const REPORTING = new Set(['replay', 'verify', 'audit', 'publish']);

export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name = 'serve', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`tessera: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`tessera: ${error.message}\n`);
      return EXIT.config;
    }
    throw error;
  }
  const reporting = REPORTING.has(name);
  const logger = createLogger({
    level: reporting && process.env.LOG_LEVEL === undefined ? 'warn' : config.LOG_LEVEL,
    ...(reporting ? { destination: process.stderr } : {}),
  });
  try {
    return (await command(config, logger, rest, io)) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`tessera ${name}: ${error.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    logger.fatal({ err: error }, `${name} failed`);
    return EXIT.failed;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
