// Drives the web console in headless Chromium through a list of steps and reports, as JSON on
// stdout, what the pages showed: captured texts, URLs, screenshots taken, and every console
// error, page error, failed request and CSP violation seen on the way.
//
//   node console_driver.mjs '{"chromium": "/usr/bin/chromium", "baseUrl": "http://127.0.0.1:8090",
//                             "screenshotDir": "/tmp/shots", "timeoutMs": 20000,
//                             "steps": [{"goto": "/login"}, {"fill": "input[name=email]", "value": "a@b.c"}, ...]}'
//
// Steps (one key names the kind):
//   {goto: path-or-url}                        load and wait for the load event
//   {fill: selector, value}                    type into a field (cleared first)
//   {check: selector} / {uncheck: selector}    set a checkbox
//   {select: selector, value}                  choose an <option>
//   {click: selector, navigate: bool}          click; with navigate, wait for the next page
//   {screenshot: name}                         full-page PNG <screenshotDir>/<name>.png
//   {capture: name, selector}                  the trimmed innerText of every match
//   {capture: name, selector, attribute}       the attribute of every match (null where absent)
//   {capture: name, selector, property}        the DOM property of every match (a field's current value)
//   {url: name}                                the current URL
//   {fetch: name, path}                        an in-page fetch (same cookies): status, headers, body
//   {fetch: name, from: selector, attribute}   the same, of the URL in the first match's attribute (a data URL, a link)
//   {waitFor: selector}                        until the element exists
//   {elapsed: name}                            ms since the current page's navigation started (performance.now())
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
];

const settings = JSON.parse(process.argv[2]);
const result = { captures: {}, urls: {}, fetches: {}, elapsed: {}, screenshots: [], consoleErrors: [], pageErrors: [], failedRequests: [], visited: [] };
const userDataDir = await mkdtemp(join(tmpdir(), 'clickstream-console-chromium-'));
try {
  const browser = await puppeteer.launch({ executablePath: settings.chromium, headless: true, userDataDir, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(settings.timeoutMs);
    await page.setViewport({ width: 1280, height: 860 });
    page.on('console', (message) => {
      if (message.type() === 'error') result.consoleErrors.push({ text: message.text(), url: page.url() });
    });
    page.on('pageerror', (error) => result.pageErrors.push({ text: String(error), url: page.url() }));
    page.on('requestfailed', (request) => result.failedRequests.push({ url: request.url(), error: request.failure()?.errorText }));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) result.visited.push(frame.url());
    });
    for (const [index, step] of settings.steps.entries()) {
      try {
        await runStep(page, step);
      } catch (error) {
        result.failedStep = { index, step, error: String(error), url: page.url() };
        await page.screenshot({ path: join(settings.screenshotDir, `failed-step-${index}.png`), fullPage: true }).catch(() => {});
        break;
      }
    }
  } finally {
    await browser.close();
  }
} finally {
  await rm(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');

function absolute(target) {
  return /^https?:\/\//.test(target) ? target : settings.baseUrl + target;
}

async function runStep(page, step) {
  if ('goto' in step) {
    await page.goto(absolute(step.goto), { waitUntil: 'load' });
  } else if ('fill' in step) {
    await page.$eval(step.fill, (element) => { element.value = ''; });
    await page.type(step.fill, step.value);
  } else if ('check' in step || 'uncheck' in step) {
    const selector = step.check ?? step.uncheck;
    const checked = await page.$eval(selector, (element) => element.checked);
    if (checked !== ('check' in step)) await page.click(selector);
  } else if ('select' in step) {
    await page.select(step.select, step.value);
  } else if ('click' in step) {
    if (step.navigate) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(step.click)]);
    } else {
      await page.click(step.click);
    }
  } else if ('screenshot' in step) {
    const path = join(settings.screenshotDir, `${step.screenshot}.png`);
    await page.screenshot({ path, fullPage: true });
    result.screenshots.push(path);
  } else if ('capture' in step) {
    result.captures[step.capture] = await page.$$eval(step.selector, (elements, { attribute, property }) => elements.map((element) => {
      if (attribute) return element.getAttribute(attribute);
      if (property) return element[property];
      return element.innerText.trim();
    }), { attribute: step.attribute, property: step.property });
  } else if ('url' in step) {
    result.urls[step.url] = page.url();
  } else if ('fetch' in step) {
    result.fetches[step.fetch] = await page.evaluate(async (url) => {
      const response = await fetch(url, { credentials: 'same-origin' });
      return { status: response.status, headers: Object.fromEntries(response.headers.entries()), body: await response.text() };
    }, absolute(step.path ?? await page.$eval(step.from, (element, attribute) => element.getAttribute(attribute), step.attribute)));
  } else if ('waitFor' in step) {
    await page.waitForSelector(step.waitFor);
  } else if ('elapsed' in step) {
    result.elapsed[step.elapsed] = await page.evaluate(() => performance.now());
  } else {
    throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}
