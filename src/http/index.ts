// The public surface of the HTTP gateway (names prefixed: other services have routes and errors too).
export { HttpGateway } from './gateway.js';
export type { HttpOptions } from './options.js';
export type {
  BodyRouteOptions as HttpBodyRouteOptions,
  HttpMethod,
  HttpRequestInput,
  HttpTarget,
  QueryRouteOptions as HttpQueryRouteOptions,
} from './routes.js';
export type { Problem as HttpProblem } from './problem.js';
export type { RunJson as HttpRunJson } from './json.js';
export * from './errors.js';
