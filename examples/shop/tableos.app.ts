// The shop as an app served over HTTP: npm run example:shop:http, then
//   curl -X POST localhost:8080/orders -H 'content-type: application/json' \
//        -H 'idempotency-key: order-1' -d '{"id":"order-1","sku":"tea","qty":2}'
//   curl localhost:8080/orders/order-1
// Kill the node with kill -9 between two requests and start it again: a request retried with
// the same Idempotency-Key gets the same answer, and no order is charged twice.
import { z } from 'zod';
import { defineApp } from '../../src/index.js';
import { createTables, registerShop } from './app.js';

export default defineApp({
  name: 'shop',
  version: '1',
  async setup(os) {
    await createTables(os);
    const { checkout } = registerShop(os, (line) => console.log(line));
    const status = os.workflows.procedure('shop.order_status', async (tx, id: string) => {
      const [row] = await tx<{ status: string; sku: string; qty: number }[]>`
        select status, sku, qty from shop_order where id = ${id}`;
      return row ?? { status: 'unknown', sku: null, qty: null };
    });
    os.http.post('/orders', checkout, {
      body: z.object({
        id: z.string().min(1).max(100),
        sku: z.string().min(1),
        qty: z.number().int().positive(),
      }),
      args: ({ body }) => [body.id, body.sku, body.qty],
      response: z.enum(['shipped', 'sold out']),
      summary: 'check out an order',
    });
    os.http.get('/orders/:id', status, {
      params: z.object({ id: z.string().min(1) }),
      args: ({ params }) => [(params as { id: string }).id],
      summary: 'the status of an order',
    });
  },
});
