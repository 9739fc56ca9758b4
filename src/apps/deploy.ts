// Deploying an app on this node: open the node as an executor of the app's version, run the
// app's setup, then record the app and every function it registered in one transaction. A
// setup that throws records nothing and leaves no node running.
import { errorMessage } from '../kernel/errors.js';
import { TableOS, type OpenOptions } from '../tableos.js';
import { recordDeploy } from './catalog.js';
import { AppError, AppSetupError } from './errors.js';
import { collectFunctions, type AppFunction } from './functions.js';
import { identityOf, type LoadedApp } from './loader.js';

export interface DeployedApp {
  os: TableOS;
  functions: AppFunction[];
}

export async function deployApp(
  loaded: LoadedApp,
  options: OpenOptions = {},
): Promise<DeployedApp> {
  const os = await TableOS.open({ ...options, app: identityOf(loaded) });
  try {
    try {
      await loaded.app.setup(os);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppSetupError(loaded.app.name, errorMessage(err), { cause: err });
    }
    const functions = collectFunctions(os);
    const { hashChanged } = await os.kernel.retrying('tableos.app_deploy', () =>
      recordDeploy(os.sql, {
        executorId: os.executor?.id ?? null,
        name: loaded.app.name,
        version: loaded.version,
        codeHash: loaded.codeHash,
        functions,
      }),
    );
    if (hashChanged)
      os.log.warn(
        { app: loaded.app.name, version: loaded.version },
        'this app version was deployed before with other code: declare a new version for changed code, or runs may resume on code they did not start on',
      );
    // An app that added schedules or task handlers has them run here.
    if (os.kernel.has('scheduler') && os.executor !== undefined) await os.scheduler.start();
    return { os, functions };
  } catch (err) {
    await os.close();
    throw err;
  }
}
