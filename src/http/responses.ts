// The responses every run route documents in /openapi.json besides its 200: the 202 of
// Prefer: respond-async and the problems (application/problem+json) it may answer with.
// They are also the schemas the problems are serialized with, so the document and the
// answers cannot drift apart.
import { z } from 'zod';
import { PROBLEM_TYPE } from './problem.js';

/** RFC 9457 problem details, with the fields the gateway adds (see problem.ts). */
export const problemSchema = z.looseObject({
  type: z.string().describe('urn:tableos:error:<code>'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().describe('the request path'),
  code: z.string().describe('the stable error code (TABLEOS_*, or one an HttpStatusError chose)'),
  field: z.string().optional().describe('for 400: the first failing field, e.g. body.qty'),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  runId: z.string().optional().describe('the run behind the request'),
  runStatus: z.string().optional(),
});

const accepted = z.object({
  id: z.string().describe('the run id'),
  location: z.string().describe('GET it for the run: /runs/{id}'),
});

function problem(description: string) {
  return { description, content: { [PROBLEM_TYPE]: { schema: problemSchema } } };
}

/** The documented responses of a route that starts runs, other than its 200. */
export function runResponses() {
  return {
    202: {
      description: 'Prefer: respond-async: the run is durable and will finish; Location names it',
      content: { 'application/json': { schema: accepted } },
    },
    400: problem('the request is invalid; field names what'),
    409: problem('the Idempotency-Key names a run of another workflow'),
    413: problem('the body is larger than the gateway accepts'),
    415: problem('the body is not JSON'),
    422: problem('the Idempotency-Key was used before with another request'),
    '4xx': problem('a status the run chose by throwing HttpStatusError'),
    500: problem('the run failed; runId names it and GET /runs/{id} has its error'),
    503: problem('the node is draining or the database is unavailable; retry'),
  };
}
