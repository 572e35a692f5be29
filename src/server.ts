import { buildApp } from './api/app.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { openStorage } from './runtime.js';

/**
 * Runs Tessera until SIGINT/SIGTERM: stops taking requests, lets in-flight ones finish, then
 * closes the stores. A second signal exits at once.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  const storage = await openStorage(config, logger);
  const app = buildApp({ config, logger, storage });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
      await storage.close();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exitCode = 1;
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (error) {
    await storage.close();
    throw error;
  }
}
