import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDependencies } from './api/app.js';
import type { Config } from './config.js';
import type { BrokerPublisher } from './gateways/broker.js';
import type { Logger } from './logger.js';
import { composeTessera, type Tessera } from './composition.js';
import { edgeStores, openStorage, type Storage } from './runtime.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** The address it listens on, e.g. http://127.0.0.1:3005. */
  readonly url: string;
  /**
   * Graceful stop: refuse new connections (and answer 503 on kept-alive ones), let the requests
   * in flight finish, then close the stores. Requests still running after SHUTDOWN_TIMEOUT_MS
   * have their connections cut. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

export interface StartOptions extends Pick<AppDependencies, 'extraRoutes' | 'services'> {
  /** Whether to run the background work (process managers, projections); default true. */
  readonly background?: boolean;
  /** Opens the storage the server runs on and closes on stop; by default from the config. */
  readonly openStorage?: () => Promise<Storage>;
  /** Events out: the brokers to publish to; by default those the config names (bench:publish times its own). */
  readonly brokers?: readonly BrokerPublisher[];
}

export async function startServer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  const storage = await (options.openStorage ?? (() => openStorage(config, logger)))();
  const tessera = composeTessera({ config, logger, storage, ...(options.brokers ? { brokers: options.brokers } : {}) });
  const app = buildApp({ config, logger, storage, tessera, edge: edgeStores(config, storage), extraRoutes: options.extraRoutes, services: options.services });
  let url: string;
  try {
    if (options.background ?? true) await tessera.start();
    url = await app.listen({ host: config.HOST, port: config.PORT });
  } catch (error) {
    await app.close().catch(() => undefined);
    await tessera.stop().catch(() => undefined);
    await storage.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { app, url, stop: () => (stopping ??= shutDown(app, config.SHUTDOWN_TIMEOUT_MS, tessera, storage, logger)) };
}

async function shutDown(
  app: FastifyInstance,
  timeoutMs: number,
  tessera: Tessera,
  storage: Storage,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const force = setTimeout(() => {
    logger.warn({ timeoutMs }, 'requests still running at the shutdown deadline; closing their connections');
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await app.close();
    // A request whose client hung up no longer holds a connection open, but its handler may
    // still be writing: wait for it too (within the same deadline) before the stores close.
    if (!(await app.inFlight.idle(Math.max(0, deadline - Date.now())))) {
      logger.warn({ running: app.inFlight.count }, 'handlers of abandoned requests still running at the shutdown deadline');
    }
  } finally {
    clearTimeout(force);
    // Background work stops after the requests (a purchase in flight waits on it), and the
    // stores close only after everything has finished with them.
    await tessera.stop().catch((error: unknown) => logger.error({ err: error }, 'error stopping background work'));
    await storage.close();
  }
}

/**
 * `tessera serve`: runs until SIGINT/SIGTERM, then stops gracefully. A second signal exits at once.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  const server = await startServer(config, logger);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => logger.info('stopped'),
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
