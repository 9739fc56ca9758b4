// Postgres SQLSTATE codes TableOS reacts to, by name.
export const PG = {
  tableosError: 'TF001', // any TableOS error raised by tableos.raise_error; DETAIL is its code
  uniqueViolation: '23505', // unique_violation
  serializationFailure: '40001', // serialization_failure
  deadlockDetected: '40P01', // deadlock_detected
  undefinedTable: '42P01', // undefined_table
  undefinedFunction: '42883', // undefined_function
  duplicateDatabase: '42P04', // duplicate_database
  invalidCatalogName: '3D000', // invalid_catalog_name (database does not exist)
  cannotConnectNow: '57P03', // cannot_connect_now (starting up)
  adminShutdown: '57P01', // admin_shutdown
  crashShutdown: '57P02', // crash_shutdown
  tooManyConnections: '53300', // too_many_connections
  queryCanceled: '57014', // query_canceled
  raiseException: 'P0001', // raise_exception
} as const;

export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
