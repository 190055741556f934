/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
 * (a browser download does not work here). `.ci/run` installs the package when it is missing, so in
 * CI (CI=true) a missing browser is a failure; locally the browser tests are skipped, loudly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const hasChromium = existsSync(CHROMIUM_PATH);
export const chromiumRequired = process.env.CI === 'true';

if (!hasChromium) {
  const line = '*'.repeat(100);
  console.warn(
    `\n${line}\n*** The browser tests did NOT run: ${CHROMIUM_PATH} is missing (apt-get install chromium).` +
      `${chromiumRequired ? ' CI=true: this is a failure.' : ''}\n${line}\n`,
  );
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A browser with a fresh profile (no cookies), closed and removed by close(). */
export async function launchBrowser(viewport = { width: 1600, height: 1000 }): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'atpki-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** `chromium --headless --dump-dom URL`, as an outside check runs it (fresh profile). */
export function dumpDom(url: string, timeoutMs = 90_000): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'atpki-dumpdom-'));
  return new Promise<string>((resolve, reject) => {
    execFile(
      CHROMIUM_PATH,
      [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--dump-dom', url],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        rmSync(profile, { recursive: true, force: true });
        if (error) reject(error);
        else resolve(stdout);
      },
    );
  });
}
