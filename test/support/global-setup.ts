// One PostgreSQL for the whole run (embedded, or DATABASE_URL when set) and one migrated
// template database; each test file clones its own database from the template.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { EmbeddedCluster } from '../../src/kernel/embedded/cluster.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { migrate } from '../../src/kernel/migrator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

let cluster: EmbeddedCluster | undefined;
let dataDir: string | undefined;

export default async function setup(project: TestProject) {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-test-'));
    fs.chmodSync(dataDir, 0o755);
    cluster = new EmbeddedCluster(dataDir, silentLogger);
    const c = await cluster.ensureRunning();
    adminUrl = `postgres://${c.user}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`;
  }
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
    await cluster?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
