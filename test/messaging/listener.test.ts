import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/kernel/logger.js';
import { Listener } from '../../src/messaging/listener.js';
import { openTestOS } from '../support/db.js';

describe('shared listener', () => {
  it('drops idle channels and listens again when one is used anew', async () => {
    const os = await openTestOS({ executor: false });
    const l = new Listener(() => os.db.newPool({ max: 1 }), silentLogger, 100);
    try {
      await l.listen('chan_idle');
      l.onPayload('chan_kept', () => undefined);
      await l.listen('chan_kept');
      expect(l.listening().sort()).toEqual(['chan_idle', 'chan_kept']);
      await new Promise((r) => setTimeout(r, 350));
      expect(l.listening()).toEqual(['chan_kept']);

      await l.listen('chan_idle');
      const gen = l.generation('chan_idle');
      const woke = l.waitChange('chan_idle', gen, 5000);
      const t0 = Date.now();
      await os.sql`select pg_notify('chan_idle', 'x')`;
      await woke;
      expect(l.generation('chan_idle')).not.toBe(gen);
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      await l.close();
    }
  });
});
