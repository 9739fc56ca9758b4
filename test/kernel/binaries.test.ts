import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinaries, hydrateSymlinks } from '../../src/kernel/embedded/binaries.js';

describe('embedded binaries', () => {
  it('restores the library links a skipped install script would have made', async () => {
    const { root } = await findBinaries();
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-bin-')), 'pkg');
    fs.cpSync(path.dirname(root), copy, { recursive: true, verbatimSymlinks: true });
    const native = path.join(copy, 'native');
    const links = JSON.parse(fs.readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8')) as {
      target: string;
    }[];
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) fs.rmSync(path.join(copy, l.target), { force: true });
    const postgres = path.join(native, 'bin', 'postgres');
    // Without the links the server binary cannot load its libraries.
    expect(spawnSync(postgres, ['--version']).status).not.toBe(0);
    hydrateSymlinks(native);
    const r = spawnSync(postgres, ['--version'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^postgres \(PostgreSQL\) \d+\.\d+/);
    fs.rmSync(path.dirname(copy), { recursive: true, force: true });
  });
});
