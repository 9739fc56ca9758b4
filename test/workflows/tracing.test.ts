// OpenTelemetry spans: with an SDK registered (the in-memory exporter), a run gets a span, its
// steps and procedures child spans, and a child workflow's span sits under its parent's, all
// in one trace; a failed run's span is an error. The trace context is stored with the run, so
// a run taken over by another executor continues its trace; an HTTP request's traceparent is
// the parent of the request's span, and that of the run it starts; DAG nodes have spans.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase, openTestOS } from '../support/db.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

const byName = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

it('spans a workflow, its calls and its child workflow in one trace', async () => {
  const os = await openTestOS();
  const wf = os.workflows;
  const step = wf.step('fetch', (n: number) => Promise.resolve(n + 1));
  const save = wf.procedure('save', async (tx, n: number) => {
    await tx`select ${n}::int`;
    return n;
  });
  const kid = wf.workflow('kid', async (ctx, n: number) => ctx.call(step, n));
  const parent = wf.workflow('parent', async (ctx, n: number) => {
    const a = await ctx.call(step, n);
    const b = await ctx.call(save, a);
    return ctx.call(kid, b);
  });
  const bad = wf.workflow('bad', () => Promise.reject(new Error('no')));
  expect(await (await parent.start([1], { id: 'tr-1' })).result()).toBe(3);
  await expect((await bad.start([], { id: 'tr-2' })).result()).rejects.toThrow('no');

  const spans = exporter.getFinishedSpans();
  const root = byName(spans, 'workflow parent');
  const child = byName(spans, 'workflow kid');
  const proc = byName(spans, 'procedure save');
  const steps = spans.filter((s) => s.name === 'step fetch');
  expect(root.attributes['tableos.workflow.id']).toBe('tr-1');
  expect(root.attributes['tableos.workflow.status']).toBe('success');
  // A run started with no span around it hangs under a `start` span, the root of its trace.
  const start = spans.find((s) => s.name === 'start parent')!;
  expect(parentOf(start)).toBeUndefined();
  expect(parentOf(root)).toBe(start.spanContext().spanId);
  const [stored] = await os.sql<{ trace_context: string }[]>`
    select trace_context from tableos.workflow where id = 'tr-1'`;
  expect(stored!.trace_context).toBe(
    `00-${start.spanContext().traceId}-${start.spanContext().spanId}-01`,
  );
  expect(parentOf(proc)).toBe(root.spanContext().spanId);
  expect(proc.attributes['tableos.call.seq']).toBe(1);
  expect(parentOf(child)).toBe(root.spanContext().spanId);
  expect(steps.map(parentOf).sort()).toEqual(
    [root.spanContext().spanId, child.spanContext().spanId].sort(),
  );
  const traceIds = new Set([root, child, proc, ...steps].map((s) => s.spanContext().traceId));
  expect(traceIds.size).toBe(1);
  const failed = byName(spans, 'workflow bad');
  expect(failed.status.code).toBe(SpanStatusCode.ERROR);
  expect(failed.status.message).toBe('no');
  expect(failed.spanContext().traceId).not.toBe(root.spanContext().traceId);
});

it('a run taken over by another executor continues the same trace', async () => {
  exporter.reset();
  const url = await createTestDatabase();
  const define = (os: Awaited<ReturnType<typeof openTestOS>>) => {
    const step = os.workflows.step('tick', (n: number) => Promise.resolve(n + 1));
    return os.workflows.workflow('napper', async (ctx, ms: number) => {
      const n = await ctx.call(step, 1);
      await ctx.sleep(ms);
      return ctx.call(step, n);
    });
  };
  const a = await openTestOS({ databaseUrl: url, leaseMs: 30_000 });
  const b = await openTestOS({ databaseUrl: url, leaseMs: 30_000 });
  define(b);
  await define(a).start([400], { id: 'nap-1' });
  await new Promise((r) => setTimeout(r, 100));
  await a.close();
  expect(await b.workflows.handle('nap-1').result({ timeoutMs: 10_000 })).toBe(3);
  expect((await b.workflows.get('nap-1')).recoveryAttempts).toBe(1);
  const spans = exporter.getFinishedSpans();
  const start = byName(spans, 'start napper');
  const attempts = spans.filter((s) => s.name === 'workflow napper');
  // The first attempt's span ended when its executor closed; the second ran to success.
  expect(attempts).toHaveLength(2);
  for (const s of attempts) {
    expect(s.spanContext().traceId).toBe(start.spanContext().traceId);
    expect(parentOf(s)).toBe(start.spanContext().spanId);
  }
  expect(attempts.map((s) => s.attributes['tableos.workflow.status'])).toContain('success');
  const ticks = spans.filter((s) => s.name === 'step tick');
  // The first tick ran on a, the second (after the takeover) on b; both in the trace.
  expect(ticks).toHaveLength(2);
  expect(new Set(ticks.map((s) => s.spanContext().traceId))).toEqual(
    new Set([start.spanContext().traceId]),
  );
  await b.close();
});

it("an HTTP request's traceparent is the parent of its span and of the run it starts", async () => {
  exporter.reset();
  const os = await openTestOS();
  const greet = os.workflows.workflow('greet', (_ctx, b: { name: string }) =>
    Promise.resolve(`hi ${b.name}`),
  );
  const { z } = await import('zod');
  os.http.post('/greet', greet, { body: z.object({ name: z.string() }) });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await os.http.inject({
    method: 'POST',
    url: '/greet',
    payload: { name: 'ada' },
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  expect(res.statusCode).toBe(200);
  const spans = exporter.getFinishedSpans();
  const server = byName(spans, 'POST /greet');
  expect(server.spanContext().traceId).toBe(traceId);
  expect(parentOf(server)).toBe('00f067aa0ba902b7');
  expect(server.attributes['http.response.status_code']).toBe(200);
  const run = byName(spans, 'workflow greet');
  expect(run.spanContext().traceId).toBe(traceId);
  expect(parentOf(run)).toBe(server.spanContext().spanId);
  const runId = res.headers['tableos-run-id'] as string;
  const [row] = await os.sql<{ trace_context: string }[]>`
    select trace_context from tableos.workflow where id = ${runId}`;
  expect(row!.trace_context).toBe(`00-${traceId}-${server.spanContext().spanId}-01`);
});

it('a DAG node runs in a span named by its function', async () => {
  exporter.reset();
  const os = await openTestOS();
  os.serverless.fn('double', (_ctx, n: number) => n * 2, { kind: 'procedure' });
  await os.scheduler.start({ capacity: 2, memoryMb: 256, pollMs: 200 });
  const h = await os.serverless.submit(
    { nodes: [{ id: 'x', fn: 'double', args: [21] }] },
    {
      id: 'traced-dag',
    },
  );
  expect(await h.result()).toEqual({ x: 42 });
  const node = byName(exporter.getFinishedSpans(), 'dag node double');
  expect(node.attributes).toMatchObject({
    'tableos.dag.id': 'traced-dag',
    'tableos.dag.node': 'x',
    'tableos.dag.fn': 'double',
  });
});
