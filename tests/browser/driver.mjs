// Loads the SDK page in headless Chromium once per scenario and reports, as JSON on stdout, the
// events the SDK recorded and every request it made to the collect endpoint, preflights included.
//
//   node driver.mjs '{"chromium": "/usr/bin/chromium", "collectUrl": "http://127.0.0.1:8088/collect",
//                     "timeoutMs": 20000, "scenarios": [{"name": "immediate", "url": "http://..."}]}'
//
// A scenario is over when the page script has run, nothing is in flight, and every recorded event
// was either delivered (in a POST answered 200) or given up on: the SDK logs once per request it
// abandons after its retries, and in its default mode a request carries one event.
//
// Requests are observed through the DevTools protocol itself: it links each CORS preflight to
// the POST that caused it and reports the headers as they went over the wire.

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
const POLL_MS = 50;
// The page records everything in its first task; this long with nothing new recorded and nothing
// in flight leaves room for anything the SDK records later on its own (timers, retries).
const QUIET_MS = 400;

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
    const scenarios = [];
    for (const scenario of settings.scenarios) {
      scenarios.push(await runScenario(browser, scenario));
    }
    process.stdout.write(JSON.stringify({ chromium: await browser.version(), scenarios }, null, 2) + '\n');
  } finally {
    await browser.close();
  }
} finally {
  await rm(userDataDir, { recursive: true, force: true });
}

async function runScenario(browser, scenario) {
  // A fresh context per scenario: its own storage, so the SDK starts as on a first visit.
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const network = await watchCollectRequests(page, settings.collectUrl);
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  await page.goto(scenario.url, { waitUntil: 'load' });
  const timedOut = !(await waitUntilSettled(page, network));
  // The SDK sends _user_engagement when a page is hidden, so closing the browser would send
  // events this report does not list. Emulated offline mode does not stop those (the browser
  // drops the emulation as it closes), so the page loses its fetch, in the same task that reads
  // what it recorded: whatever the report lists could be sent, nothing recorded later can.
  const state = await page.evaluate(() => {
    window.fetch = () => Promise.reject(new TypeError('the check is over'));
    return { recordedEvents: window.recordedEvents, sendFailures: window.sendFailures };
  });

  return {
    name: scenario.name,
    pageUrl: scenario.url,
    timedOut,
    pageErrors,
    recordedEvents: state.recordedEvents,
    sendFailures: state.sendFailures,
    ...network.summary(),
  };
}

async function watchCollectRequests(page, collectUrl) {
  const cdp = await page.createCDPSession();
  const exchanges = new Map();
  const exchange = (requestId) => {
    if (!exchanges.has(requestId)) exchanges.set(requestId, { requestId });
    return exchanges.get(requestId);
  };
  const known = (record) => record.url !== undefined;
  // Answered once the response and the headers as sent and received are all in (the *ExtraInfo
  // events can come last); a request the browser blocked or abandoned only ever fails.
  const settled = (record) =>
    record.answered ? record.requestHeaders !== undefined && record.responseHeaders !== undefined : record.failed;

  cdp.on('Network.requestWillBeSent', ({ requestId, request, initiator }) => {
    if (!request.url.startsWith(collectUrl)) return;
    Object.assign(exchange(requestId), {
      method: request.method,
      url: request.url,
      postData: request.postData ?? null,
      preflightFor: initiator?.type === 'preflight' ? initiator.requestId : null,
    });
  });
  // Only the *ExtraInfo events carry the headers as they went over the wire, Origin included.
  cdp.on('Network.requestWillBeSentExtraInfo', ({ requestId, headers }) => {
    exchange(requestId).requestHeaders = lowerCaseKeys(headers);
  });
  cdp.on('Network.responseReceivedExtraInfo', ({ requestId, headers, statusCode }) => {
    Object.assign(exchange(requestId), { status: statusCode, responseHeaders: lowerCaseKeys(headers) });
  });
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    const record = exchange(requestId);
    record.status ??= response.status;
    record.answered = true;
  });
  // The SDK never reads the empty 200 body, so Chromium cancels it after the response: an error
  // after an answer only means the body was dropped.
  cdp.on('Network.loadingFailed', ({ requestId, errorText, corsErrorStatus }) => {
    const record = exchange(requestId);
    record.failed = true;
    if (!record.answered) {
      record.error = errorText;
      record.corsError = corsErrorStatus?.corsError ?? null;
    }
  });
  await cdp.send('Network.enable');

  return {
    inFlight: () => [...exchanges.values()].filter((record) => known(record) && !settled(record)).length,
    deliveredEventIds: () => {
      const ids = new Set();
      for (const record of exchanges.values()) {
        if (record.method === 'POST' && record.status === 200 && record.postData !== null) {
          for (const event of JSON.parse(record.postData)) ids.add(event.event_id);
        }
      }
      return ids;
    },
    summary: () => {
      const records = [...exchanges.values()].filter(known);
      const preflights = new Map(records.filter((r) => r.preflightFor).map((r) => [r.preflightFor, r]));
      const posts = records.filter((r) => r.method === 'POST').map((post) => ({
        ...exchangeReport(post),
        body: post.postData,
        preflight: preflights.has(post.requestId) ? exchangeReport(preflights.get(post.requestId)) : null,
      }));
      const paired = new Set(posts.map((post) => post.requestId));
      const others = records.filter((r) => r.method !== 'POST' && !paired.has(r.preflightFor)).map(exchangeReport);
      return { posts, otherRequests: others };
    },
  };
}

function exchangeReport(record) {
  return {
    requestId: record.requestId,
    method: record.method,
    url: record.url,
    status: record.status ?? null,
    error: record.error ?? null,
    corsError: record.corsError ?? null,
    requestHeaders: record.requestHeaders ?? {},
    responseHeaders: record.responseHeaders ?? {},
  };
}

async function waitUntilSettled(page, network) {
  const deadline = Date.now() + settings.timeoutMs;
  let lastCount = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const state = await pageState(page);
    if (state.recordedEvents.length !== lastCount) {
      lastCount = state.recordedEvents.length;
      quietSince = Date.now();
    }
    const delivered = network.deliveredEventIds();
    const concluded = state.recordedEvents.filter((event) => delivered.has(event.event_id)).length + state.sendFailures;
    const finished = concluded >= state.recordedEvents.length;
    if (state.scenarioDone && finished && network.inFlight() === 0 && Date.now() - quietSince >= QUIET_MS) {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}

function pageState(page) {
  return page.evaluate(() => ({
    scenarioDone: window.scenarioDone === true,
    recordedEvents: window.recordedEvents ?? [],
    sendFailures: window.sendFailures ?? 0,
  }));
}

function lowerCaseKeys(headers) {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
}
