/**
 * The HTML report is read in a real browser: a run with one failed check
 * (tests/unit/fixtures/html-report/failing.check.ts, evidence attached as
 * the cluster fixture attaches it) writes Vitest's HTML report; headless
 * Chromium (Debian `chromium`, driven by puppeteer-core) opens it over a
 * 127.0.0.1 server, finds the failed test, its error, its console
 * attachment (readable text, not base64 taken for text) and its chart
 * (an image that rendered), and saves a screenshot into the run folder.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDir } from '../../fixtures/run-dir.js';
import { serveFolder } from '../../harness/report-server.js';

const FIXTURE = path.resolve('tests/unit/fixtures/html-report');
const CHROMIUM = '/usr/bin/chromium';
const FAILED = 'a failed check with its evidence';
describe('the HTML report in a browser', () => {
  let out: string;
  let server: http.Server | undefined;
  let browser: Browser | undefined;

  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'html-report-'));
    const vitest = path.resolve('node_modules/vitest/vitest.mjs');
    const r = spawnSync(process.execPath, [vitest, 'run', '--config', path.join(FIXTURE, 'vitest.config.ts'), '--root', FIXTURE], { env: { ...process.env, OUT: out }, encoding: 'utf8', timeout: 120_000 });
    // The fixture's run fails by design (one failed check): exit 1, and its report written.
    expect(r.status, `${r.stdout}${r.stderr}`.slice(-1500)).toBe(1);
    expect(fs.existsSync(path.join(out, 'html', 'index.html')), 'the run wrote its HTML report').toBe(true);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  test('Chromium shows the failed check, its error, its console attachment and its chart; a screenshot is saved in the run folder', { timeout: 120_000 }, async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} (Debian chromium; scripts/install-deps.sh installs it)`).toBe(true);
    let url: string;
    ({ server, url } = await serveFolder(path.join(out, 'html')));
    // --no-sandbox: the harness runs as root, where Chromium's sandbox refuses to start.
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(url, { waitUntil: 'networkidle0', timeout: 60_000 });

    // The file list: the failed check is there, marked failed in the totals.
    const listed = await page.evaluate(() => document.body.innerText);
    expect(listed).toContain(FAILED);
    expect(listed).toMatch(/FAIL \(1\)/);

    const [entry] = await page.$$(`xpath/.//*[text()="${FAILED}"]`);
    expect(entry, `the entry "${FAILED}" in the list`).toBeDefined();
    await entry.click();
    await page.waitForFunction(() => document.body.innerText.includes('Test Annotations'), { timeout: 30_000 });
    const report = await page.evaluate(() => document.body.innerText);
    expect(report).toContain("AssertionError: node03 answers its SOA: expected 'node03 answered' to be 'node03 refused'");
    expect(report).toContain('node03: console during the test');
    expect(report).toContain('rollout timeline: healthy replicas per service, phases and holds');

    // The console attachment downloads as the text that was attached.
    const hrefs = await page.$$eval('a', (as) => as.map((a) => a.href).filter((h) => h.startsWith('data:')));
    const texts = hrefs.map((h) => {
      const data = h.slice(h.indexOf(',') + 1);
      return h.slice(0, h.indexOf(',')).endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    });
    expect(texts.some((t) => t.includes('BOOT MARKER 4242')), `a download link holding the console text (links: ${hrefs.map((h) => h.slice(0, 60)).join(', ')})`).toBe(true);

    // The chart is an image that loaded (a broken one has no natural size).
    const images = await page.$$eval('img', (is) => is.map((i) => ({ src: i.src, w: i.naturalWidth })));
    const chart = images.find((i) => i.src.includes('rollout-timeline'));
    expect(chart, `the chart among the images: ${JSON.stringify(images)}`).toBeDefined();
    expect(chart!.w, 'the chart rendered').toBeGreaterThan(0);

    const shot = runDir('html-report-check.png');
    await page.screenshot({ path: shot as `${string}.png` });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
  });
});
