import { loadConfig, redactConfig } from './config';
import { toAppError } from './domain/errors';
import { createLogger } from './logging';
import { startService } from './service';

/** `clinical-ai serve`: run until SIGTERM/SIGINT, then stop gracefully. */
export async function serve(options: { configFile?: string }): Promise<number> {
  let config;
  try {
    config = loadConfig(options.configFile ? { file: options.configFile } : {});
  } catch (err) {
    console.error(toAppError(err).message);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info({ config: { ...redactConfig(config), dataDir: undefined, modelsDir: undefined } }, 'starting');
  let service;
  try {
    service = await startService(config, logger);
  } catch (err) {
    const e = toAppError(err);
    logger.fatal({ code: e.code }, e.message);
    console.error(`clinical-ai: ${e.message}`);
    return 1;
  }
  const running = service;
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      void running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
