// The apps service's public surface: defining an app, and the rows of deployed apps.
export { defineApp, type AppDefinition, type AppSpec } from './define.js';
export * from './errors.js';
export type { AppFunction, FunctionKind } from './functions.js';
export type { AppFunctionRow, AppRow } from './catalog.js';
