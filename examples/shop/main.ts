// npm run example:shop [orders]: starts TableOS (embedded Postgres unless DATABASE_URL) and
// checks out a batch of orders. Kill it mid-run (Ctrl-C or kill -9) and run it again: the
// same order ids are started again (idempotent), unfinished checkouts are taken over once
// the old process's lease runs out, and no order is charged twice.
import { TableOS } from '../../src/index.js';
import { createTables, registerShop } from './app.js';

const say = (line: string) => console.log(line);
const count = Number(process.argv[2] ?? 6);

const os = await TableOS.open({ logLevel: 'warn', heartbeatMs: 500, leaseMs: 2000 });
try {
  await createTables(os);
  const { checkout } = registerShop(os, say);
  say(
    `executor ${os.executor?.id} checking out ${count} orders (kill me any time and run me again)`,
  );
  const orders = Array.from({ length: count }, (_, i) => ({
    id: `order-${i + 1}`,
    sku: i % 3 === 2 ? 'mug' : 'tea',
    qty: 1 + (i % 2),
  }));
  const handles = await Promise.all(
    orders.map((o) => checkout.start([o.id, o.sku, o.qty], { id: o.id })),
  );
  const results = await Promise.all(handles.map((h) => h.result()));
  say('');
  say('order      result     charges  provider calls  parcels');
  for (const [i, o] of orders.entries()) {
    const [c] = await os.sql<{ charges: number; calls: number; parcels: number }[]>`
      select (select count(*)::int from shop_charge where order_id = ${o.id}) as charges,
             (select coalesce(sum(calls), 0)::int from shop_charge where order_id = ${o.id}) as calls,
             (select count(*)::int from shop_parcel where order_id = ${o.id}) as parcels`;
    say(
      `${o.id.padEnd(10)} ${String(results[i]).padEnd(10)} ${String(c!.charges).padStart(7)} ${String(c!.calls).padStart(15)} ${String(c!.parcels).padStart(8)}`,
    );
  }
  const [dup] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from (select order_id from shop_charge group by order_id having count(*) > 1) d`;
  say(dup!.n === 0 ? 'no order was charged twice' : `${dup!.n} orders were charged more than once`);
  say('(a provider call repeats only if the process died between the charge and its checkpoint;');
  say(' the idempotency key keeps it to one charge)');
} finally {
  await os.close();
}
