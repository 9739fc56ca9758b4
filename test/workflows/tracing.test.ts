// OpenTelemetry spans: with an SDK registered (the in-memory exporter), a run gets a span, its
// steps and procedures child spans, and a child workflow's span sits under its parent's, all
// in one trace; a failed run's span is an error.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';

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
  expect(parentOf(root)).toBeUndefined();
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
