import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/kernel/config.js';
import { ConfigError } from '../../src/kernel/errors.js';

describe('config', () => {
  it('has defaults', () => {
    const c = loadConfig({ databaseUrl: 'postgres://x@localhost/db' });
    expect(c.leaseMs).toBeGreaterThan(c.heartbeatMs * 2);
    expect(c.dataDir.endsWith('.tableos')).toBe(true);
  });

  it('names each bad value', () => {
    expect(() => loadConfig({ poolSize: -1 })).toThrow(ConfigError);
    expect(() => loadConfig({ poolSize: -1 })).toThrow(/poolSize/);
    expect(() => loadConfig({ port: 70000 })).toThrow(/port/);
    expect(() => loadConfig({ heartbeatMs: 1000, leaseMs: 1500 })).toThrow(
      /leaseMs must be more than twice heartbeatMs/,
    );
    expect(() => loadConfig({ logLevel: 'loud' as never })).toThrow(/logLevel/);
  });
});
