import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

describe('tableos msg', () => {
  it('sends, lists, receives and counts from the shell; bad input exits non-zero', async () => {
    const env = { DATABASE_URL: await createTestDatabase() };
    const sent = await runCli(['msg', 'send', 'a,b', '{"x":1}', '-t', 'greet'], env);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout.trim().split('\n')).toHaveLength(2);
    expect((await runCli(['msg', 'send', 'a', 'plain words', '--id', 'k1'], env)).code).toBe(0);
    const dup = await runCli(['msg', 'send', 'a', 'plain words', '--id', 'k1'], env);
    expect(dup.stdout).toMatch(/duplicate/);

    const ls = await runCli(['msg', 'ls'], env);
    expect(ls.stdout).toMatch(/^ a +\| +2 \|/m);
    expect(ls.stdout).toMatch(/^ b +\| +1 \|/m);
    expect(ls.stdout).toMatch(/\(2 rows\)/);

    const recv = await runCli(['msg', 'recv', 'a', '-n', '5'], env);
    expect(recv.stdout).toBe('{"x":1}\n"plain words"\n');
    const json = await runCli(['msg', 'recv', 'b', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ mailbox: 'b', topic: 'greet', body: { x: 1 } });

    const stats = await runCli(['msg', 'stats', '--json'], env);
    expect(
      stats.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { mailbox: 'a', pending: 0, leased: 0, expired: 0, oldest_age_s: null, retention_s: 604800 },
      { mailbox: 'b', pending: 0, leased: 0, expired: 0, oldest_age_s: null, retention_s: 604800 },
    ]);

    const empty = await runCli(['msg', 'recv', 'a', '--timeout', '200'], env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no message in mailbox "a" within 200 ms/);
    const unknown = await runCli(['msg', 'recv', 'ghost', '--timeout', '200'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/TABLEOS_MESSAGING_NO_MAILBOX/);
    const badTimeout = await runCli(['msg', 'recv', 'a', '--timeout', '0'], env);
    expect(badTimeout.stderr).toMatch(/timeoutMs must be a positive number/);
    const badTopic = await runCli(['msg', 'send', 'a', '1', '-t', 'bad topic'], env);
    expect(badTopic.code).toBe(1);
    expect(badTopic.stderr).toMatch(/TABLEOS_MESSAGING_BAD_TOPIC/);
    expect((await runCli(['msg', 'frobnicate'], env)).code).toBe(2);
    expect((await runCli(['msg', 'stats', 'ghost'], env)).code).toBe(1);
  });
});
