// One PostgreSQL for the whole run (embedded, or DATABASE_URL when set) and one migrated
// template database; each test file clones its own database from the template.
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import {
  temporaryServer,
  type TemporaryServer,
} from '../../src/kernel/embedded/temporary-server.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { migrate } from '../../src/kernel/migrator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

let server: TemporaryServer | undefined;

export default async function setup(project: TestProject) {
  server = await temporaryServer('tableos-test');
  const adminUrl = server.url;
  const templateDb = `tableos_template_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`drop database if exists ${templateDb}`);
  await admin.unsafe(`create database ${templateDb}`);
  const tpl = postgres(withDatabase(adminUrl, templateDb), { max: 1, onnotice: () => undefined });
  await migrate(tpl, silentLogger);
  await tpl.end();
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    await admin.unsafe(`drop database if exists ${templateDb} with (force)`).catch(() => undefined);
    await admin.end();
    await server?.close();
  };
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
