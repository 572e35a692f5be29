import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { connectPostgres, openPglite } from './db/sql-client.js';
import { createLogger, type Logger } from './logger.js';
import { serve } from './server.js';

const USAGE = `Usage: tessera <command>

Commands:
  serve      run the HTTP API (the default; what npm start runs)
  migrate    apply pending database migrations and exit
  help       show this text

Configuration comes from environment variables; see README.md.`;

type Command = (config: Config, logger: Logger, args: string[]) => Promise<void>;

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
};

export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const [name = 'serve', ...rest] = positionals;
  if (name === 'help' || name === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tessera: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tessera: ${error.message}\n`);
      return 78; // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  try {
    await command(config, logger, rest);
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, `${name} failed`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
