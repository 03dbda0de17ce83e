// Signs in to the console through its OpenID provider in headless Chromium, the way a person
// does, then signs out; reports what it saw as JSON on stdout (tests/console/test_oidc_browser.py).
//
//   node console_login.mjs '{"chromium": "/usr/bin/chromium", "consoleUrl": "http://127.0.0.1:8090",
//                            "account": "ada", "screenshot": "/tmp/landing.png", "timeoutMs": 20000}'
//
// Steps: the console's sign-in page → its "Sign in with ..." button → the provider's login form
// (oidc-provider's development form: any configured account id, any password) → its consent
// form → back at the console's landing page (screenshot) → "Sign out" → the provider's sign-out
// page. Console messages and failed requests are reported with the page they happened on.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
// The provider's pages import a web font; offline, 'load' would wait on it, the DOM does not.
const NAVIGATION = { waitUntil: 'domcontentloaded' };

const settings = JSON.parse(process.argv[2]);
const userDataDir = await mkdtemp(join(tmpdir(), 'clickstream-chromium-'));
try {
  const browser = await puppeteer.launch({
    executablePath: settings.chromium,
    headless: true,
    userDataDir,
    args: CHROMIUM_FLAGS,
  });
  try {
    process.stdout.write(JSON.stringify(await signInAndOut(browser), null, 2) + '\n');
  } finally {
    await browser.close();
  }
} finally {
  await rm(userDataDir, { recursive: true, force: true });
}

async function signInAndOut(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(settings.timeoutMs);
  await page.setViewport({ width: 1280, height: 800 });
  const messages = [];
  page.on('console', (message) => {
    messages.push({ page: page.url(), type: message.type(), text: message.text(), source: message.location()?.url ?? null });
  });
  page.on('pageerror', (error) => messages.push({ page: page.url(), type: 'pageerror', text: String(error), source: null }));
  page.on('requestfailed', (request) => {
    messages.push({ page: page.url(), type: 'requestfailed', text: request.failure()?.errorText ?? '', source: request.url() });
  });

  await page.goto(`${settings.consoleUrl}/login`, NAVIGATION);
  await Promise.all([page.waitForNavigation(NAVIGATION), page.click('[data-testid="oidc-login"]')]);
  const providerLoginUrl = page.url();
  await page.type('input[name="login"]', settings.account);
  await page.type('input[name="password"]', 'any password');
  await Promise.all([page.waitForNavigation(NAVIGATION), page.click('button[type="submit"]')]);
  // Consent, then the redirects back through the console's callback to its landing page.
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type="submit"]')]);
  const landing = {
    url: page.url(),
    title: await page.title(),
    viewer: await textOf(page, '[data-testid="viewer"]'),
    roles: await textOf(page, '[data-testid="viewer-roles"]'),
  };
  await page.screenshot({ path: settings.screenshot, fullPage: true });

  // A Content-Security-Policy whose form-action leaves the provider out stops the browser here:
  // reported (with the violation among the messages) rather than thrown.
  await Promise.all([page.waitForNavigation(NAVIGATION), page.click('form[action$="/logout"] button[type="submit"]')]).catch(
    (error) => messages.push({ page: page.url(), type: 'signout', text: String(error), source: null }),
  );
  return { providerLoginUrl, landing, signOutUrl: page.url(), messages };
}

async function textOf(page, selector) {
  const element = await page.$(selector);
  return element ? (await element.evaluate((node) => node.textContent)).trim() : null;
}
