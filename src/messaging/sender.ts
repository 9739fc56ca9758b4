// The send side of messaging: sends (and the acks that ride along with them) from every
// caller of this process go to the database as one statement, each caller awaiting its commit.
import type { BatcherOptions } from '../kernel/batcher.js';
import { Batcher } from '../kernel/batcher.js';
import type { Sql } from '../kernel/database.js';
import { errorMessage } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { Logger } from '../kernel/logger.js';
import type { Once } from '../kernel/once.js';
import { sendRows, type Ack, type SendRow } from './queries.js';

/** How long a lone ack waits for a send to ride along with. */
const ACK_DELAY_MS = 20;

export class Sender {
  private readonly batcher: Batcher<SendRow[] | null, (number | undefined)[]>;
  private pendingAcks: Ack[] = [];
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly once: Once,
    private readonly log: Logger,
    opts: BatcherOptions,
  ) {
    this.batcher = Batcher.of((items) => this.run(items), opts);
  }

  /** Sends rows (one per receiver of one message); resolves with their seqs once committed. */
  push(rows: SendRow[]): Promise<(number | undefined)[]> {
    return this.batcher.push(rows);
  }

  /** Queues an ack to ride along with the next send (or go on its own shortly). */
  ackLater(a: Ack): void {
    this.pendingAcks.push(a);
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      if (this.pendingAcks.length > 0) {
        this.batcher
          .push(null)
          .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'ack failed'));
      }
    }, ACK_DELAY_MS);
  }

  /** Writes the acks still queued and waits for the sends in flight. */
  async close(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length > 0) {
      // Unwritten acks only mean redelivery after the lease (at-least-once), but say so.
      await this.batcher.push(null).catch((err: unknown) => {
        this.log.warn({ err }, 'acks not written at close; those messages will be redelivered');
      });
    }
    await this.batcher.drained();
  }

  private async run(items: (SendRow[] | null)[]): Promise<(number | undefined)[][]> {
    const acks = this.pendingAcks.splice(0);
    const rows: SendRow[] = [];
    const seen = new Set<string>();
    // A repeated (sender, id) in one batch is a replay racing its original: send it once.
    const skip = items.map((item) => {
      const first = item?.[0];
      if (first?.id === undefined) return false;
      const key = `${first.sender}\0${first.id}`;
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
    items.forEach((item, i) => {
      if (item && !skip[i]) rows.push(...item);
    });
    if (rows.length === 0 && acks.length === 0) return items.map(() => []);
    let seqs: (number | undefined)[];
    try {
      // Run once by token: after a lost connection the same statement goes again and, if the
      // first had committed, returns its seqs instead of sending twice.
      seqs = await this.once.run('tableos.msg_send', async (once) => {
        const out = await sendRows(this.sql, rows, acks, once);
        faultPoint('messaging:send-committed');
        return out;
      });
    } catch (err) {
      this.pendingAcks.unshift(...acks);
      throw err;
    }
    let k = 0;
    return items.map((item, i) => {
      if (!item) return [];
      if (skip[i]) return item.map(() => undefined);
      const out = seqs.slice(k, k + item.length);
      k += item.length;
      return out;
    });
  }
}
