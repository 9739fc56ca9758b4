// OpenTelemetry spans for workflows and their calls, through @opentelemetry/api only: they
// cost next to nothing and go nowhere unless the app registers an SDK's tracer provider.
import {
  context as activeContext,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { errorMessage } from './errors.js';
import { VERSION } from './version.js';

export type TraceContext = Context;

let tracer: Tracer | undefined;

// The API's proxy tracer follows a provider registered later, so one is enough.
function getTracer(): Tracer {
  tracer ??= trace.getTracer('tableos', VERSION);
  return tracer;
}

/** Parents of runs about to start in this process (child workflows), by run id; bounded. */
const parents = new Map<string, Context>();
const MAX_PARENTS = 10_000;

/** Makes the run with this id, when it launches here, a child span of ctx. */
export function rememberParent(runId: string, ctx: Context): void {
  if (trace.getSpan(ctx) === undefined) return;
  if (parents.size >= MAX_PARENTS) {
    const oldest = parents.keys().next();
    if (oldest.done !== true) parents.delete(oldest.value);
  }
  parents.set(runId, ctx);
}

const w3c = new W3CTraceContextPropagator();

/** The W3C traceparent of ctx's span; null when ctx holds no valid span. */
export function traceparentOf(ctx: Context): string | null {
  const span = trace.getSpan(ctx);
  if (span === undefined || !isSpanContextValid(span.spanContext())) return null;
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return carrier.traceparent ?? null;
}

/** A context whose span is the remote one a traceparent names (ROOT when it is malformed). */
export function contextOf(traceparent: string | null | undefined): Context {
  if (traceparent === null || traceparent === undefined) return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/**
 * The trace context to store with a run about to start: its parent's when it has one (a
 * parent run, an HTTP request, the caller's active span), else that of a `start <name>` span
 * made now as the root of the run's trace. Null when nothing is traced (no SDK registered),
 * which costs one no-op span.
 */
export function startTraceContext(name: string, id: string): string | null {
  const parent = parents.get(id) ?? activeContext.active();
  const fromParent = traceparentOf(parent);
  if (fromParent !== null) return fromParent;
  const span = getTracer().startSpan(
    `start ${name}`,
    { kind: SpanKind.PRODUCER, attributes: { 'tableos.workflow.id': id } },
    ROOT_CONTEXT,
  );
  span.end();
  if (!isSpanContextValid(span.spanContext())) return null;
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  rememberParent(id, ctx);
  return traceparentOf(ctx);
}

/**
 * A run's span and its context: a child of the span it was started under (kept in memory when
 * it started here, else read from the trace context stored with the run), so every attempt of
 * a run, on any executor, is in one trace.
 */
export function startRunSpan(
  name: string,
  id: string,
  stored?: string | null,
): { span: Span; ctx: Context } {
  const parent = parents.get(id) ?? contextOf(stored);
  parents.delete(id);
  const span = getTracer().startSpan(
    `workflow ${name}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: { 'tableos.workflow.id': id, 'tableos.workflow.name': name },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

/** A call's span under its run's. */
export function startCallSpan(parent: Context, kind: string, name: string, seq: number): Span {
  return getTracer().startSpan(
    `${kind} ${name}`,
    {
      attributes: { 'tableos.call.kind': kind, 'tableos.call.name': name, 'tableos.call.seq': seq },
    },
    parent,
  );
}

/** Ends a span, as an error when err is given. */
export function endSpan(span: Span, err?: unknown, status?: string): void {
  if (status !== undefined) span.setAttribute('tableos.workflow.status', status);
  if (err !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: errorMessage(err),
    });
    if (err instanceof Error) span.recordException(err);
  }
  span.end();
}

/** Runs fn inside a span (a child of parent), ending it with fn's outcome. */
export async function inSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Record<string, string | number>; parent?: Context },
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? activeContext.active();
  const span = getTracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} },
    parent,
  );
  try {
    const out = await fn(span, trace.setSpan(parent, span));
    span.end();
    return out;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

export { SpanKind };
