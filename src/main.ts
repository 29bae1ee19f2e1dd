import 'reflect-metadata';
import { AppLogger } from './common/app-logger';
import { ConfigError, loadConfig } from './config/app-config';
import { createApp } from './app.factory';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = new AppLogger(config.LOG_LEVEL);
  const app = await createApp(config, logger);
  if (config.runsApi) {
    await app.listen(config.PORT, '0.0.0.0');
    logger.log({ msg: 'listening', url: await app.getUrl(), role: config.APP_ROLE, docs: `${config.publicBaseUrl}/docs` }, 'bootstrap');
  } else {
    await app.init();
    logger.log({ msg: 'worker started', role: config.APP_ROLE }, 'bootstrap');
  }
}

main().catch((error) => {
  process.stderr.write(`chat-gateway failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
