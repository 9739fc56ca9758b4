// OpenTelemetry spans for workflows and their calls, through @opentelemetry/api only: they
// cost next to nothing and go nowhere unless the app registers an SDK's tracer provider.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
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

/** A run's span (a child of its parent run's when that started it here) and its context. */
export function startRunSpan(name: string, id: string): { span: Span; ctx: Context } {
  const parent = parents.get(id) ?? ROOT_CONTEXT;
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
