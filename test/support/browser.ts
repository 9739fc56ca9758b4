// Debian's Chromium driven by playwright-core (never a downloaded browser), axe-core injected
// into pages, and screenshots kept under test-artifacts/ (git-ignored).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** The Chromium to drive: CHROMIUM_PATH, or Debian's; undefined with the reason when none. */
export function findChromium(): { path?: string; reason?: string } {
  const env = process.env.CHROMIUM_PATH;
  if (env !== undefined && env !== '')
    return existsSync(env) ? { path: env } : { reason: `CHROMIUM_PATH=${env} does not exist` };
  const path = CANDIDATES.find((p) => existsSync(p));
  return path === undefined
    ? { reason: `no Chromium at ${CANDIDATES.join(', ')} (apt-get install chromium)` }
    : { path };
}

export function launchChromium(path: string): Promise<Browser> {
  return chromium.launch({
    executablePath: path,
    // As root Chromium needs --no-sandbox; the pages are the test's own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: axeSource });
  const all = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run()).violations;
  });
  return (all as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
