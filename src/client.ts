// A TableOS client for another process: manages and observes workflows without registering
// any code and without becoming an executor.
import { silentLogger } from './kernel/logger.js';
import { TableOS, type OpenOptions } from './tableos.js';
import { WorkflowAdmin } from './workflows/admin.js';

export class TableOSClient extends WorkflowAdmin {
  private constructor(readonly os: TableOS) {
    super(os.sql, os.kernel.logger('workflows-client'), os.kernel.notifier);
  }

  /** Connects (DATABASE_URL or options) as a pure client: no executor row, no migrations run. */
  static async open(opts: Omit<OpenOptions, 'executor'> = {}): Promise<TableOSClient> {
    const os = await TableOS.open({
      logger: silentLogger,
      migrate: false,
      ...opts,
      executor: false,
    });
    return new TableOSClient(os);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.os.close();
  }
}
