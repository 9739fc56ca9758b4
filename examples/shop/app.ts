// The shopping-cart app: order, billing and shipping as procedures and steps of one
// checkout workflow. The payment and shipping "providers" are tables written outside the
// workflow's transactions, as an external service would be.
import type { TableOS } from '../../src/index.js';

export async function createTables(os: TableOS): Promise<void> {
  await os.sql`create table if not exists shop_stock (sku text primary key, n int not null check (n >= 0))`;
  await os.sql`create table if not exists shop_order (id text primary key, sku text not null, qty int not null, status text not null)`;
  // Like a real payment API, the provider takes an idempotency key and counts the calls it got.
  await os.sql`create table if not exists shop_charge (idempotency_key text primary key, order_id text not null, cents int not null, calls int not null default 1)`;
  await os.sql`create table if not exists shop_parcel (order_id text not null, at timestamptz not null default now())`;
  await os.sql`insert into shop_stock values ('tea', 1000), ('mug', 3) on conflict do nothing`;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerShop(os: TableOS, say: (line: string) => void) {
  const wf = os.workflows;

  // Order: reserve stock and create the order in one transaction, exactly once.
  const placeOrder = wf.procedure(
    'shop.place_order',
    async (tx, orderId: string, sku: string, qty: number) => {
      const rows =
        await tx`update shop_stock set n = n - ${qty} where sku = ${sku} and n >= ${qty} returning n`;
      if (rows.length === 0) return false;
      await tx`insert into shop_order values (${orderId}, ${sku}, ${qty}, 'reserved')`;
      return true;
    },
  );

  // Billing: the payment provider is outside the database transaction. The step's result is
  // checkpointed, so a charge that completed is never made again; a crash between the
  // provider's answer and the checkpoint repeats the call, with the same idempotency key.
  const charge = wf.step(
    'shop.charge',
    async (orderId: string, cents: number) => {
      say(`  ${orderId}: charging ${(cents / 100).toFixed(2)}`);
      await pause(400);
      await os.sql`insert into shop_charge (idempotency_key, order_id, cents) values (${`charge-${orderId}`}, ${orderId}, ${cents})
                   on conflict (idempotency_key) do update set calls = shop_charge.calls + 1`;
      return `ch_${orderId}`;
    },
    { retries: 3, backoffMs: 200 },
  );

  const setStatus = wf.procedure('shop.set_status', async (tx, orderId: string, status: string) => {
    await tx`update shop_order set status = ${status} where id = ${orderId}`;
  });

  // Shipping: another external service.
  const ship = wf.step('shop.ship', async (orderId: string) => {
    say(`  ${orderId}: handing parcel to the carrier`);
    await pause(400);
    await os.sql`insert into shop_parcel (order_id) values (${orderId})`;
    return `parcel_${orderId}`;
  });

  const checkout = wf.workflow(
    'shop.checkout',
    async (ctx, orderId: string, sku: string, qty: number) => {
      if (!(await ctx.call(placeOrder, orderId, sku, qty))) {
        say(`  ${orderId}: sold out`);
        return 'sold out';
      }
      const receipt = await ctx.call(charge, orderId, qty * 350);
      await ctx.call(setStatus, orderId, 'paid');
      await ctx.setEvent('receipt', receipt);
      const parcel = await ctx.call(ship, orderId);
      await ctx.call(setStatus, orderId, 'shipped');
      say(`  ${orderId}: shipped (${parcel})`);
      return 'shipped';
    },
  );

  return { checkout };
}
