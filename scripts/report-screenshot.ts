/**
 * A screenshot of one test in a run's HTML report (Vitest's, in the run
 * folder's html/), taken in headless Chromium (Debian `chromium`, driven by
 * puppeteer-core) as a person would see it: the report served on
 * 127.0.0.1, the test found by its name and opened, its error and
 * annotations (attachments, charts) shown; with --open NAME the text
 * attachment of that annotation type (console, journal) is opened instead.
 *
 *   npx tsx scripts/report-screenshot.ts RUN_DIR "test name" OUT.png [--open console] [--nth N]
 *
 * RUN_DIR: a run folder (reports/latest, reports/runs/<time>-<suite>).
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { serveFolder } from '../harness/report-server.js';

const CHROMIUM = '/usr/bin/chromium';

function usage(why: string): never {
  console.error(`report-screenshot: ${why}\nusage: npx tsx scripts/report-screenshot.ts RUN_DIR "test name" OUT.png [--open ANNOTATION_TYPE] [--nth N]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const openAt = args.indexOf('--open');
const open = openAt >= 0 ? args.splice(openAt, 2)[1] : undefined;
const nthAt = args.indexOf('--nth');
const nth = nthAt >= 0 ? Number(args.splice(nthAt, 2)[1]) : undefined;
if (nth !== undefined && !(Number.isInteger(nth) && nth >= 1)) usage('--nth needs a whole number from 1 (which of the tests named alike, in the tree\'s order)');
if (openAt >= 0 && !open) usage('--open needs an annotation type (console, journal, ...)');
const [runDir, name, out] = args;
if (!runDir || !name || !out) usage('RUN_DIR, a test name and OUT.png are required');
if (!out.endsWith('.png')) usage(`OUT must end in .png: ${out}`);
const root = path.resolve(runDir, 'html');
if (!fs.existsSync(path.join(root, 'index.html'))) usage(`${root}/index.html: no HTML report there`);
if (!fs.existsSync(CHROMIUM)) usage(`${CHROMIUM} is missing (Debian chromium; scripts/install-deps.sh installs it)`);

const { server, url } = await serveFolder(root);
// --no-sandbox: as root, Chromium's sandbox refuses to start.
const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
let code = 0;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1500, height: 1000 });
  await page.goto(url, { waitUntil: 'networkidle0', timeout: 60_000 });
  // The search box narrows the tree to the test; then its entry is opened.
  const search = await page.$('input[placeholder*="Search"], input[aria-label*="Search"], input');
  if (search) await search.type(name.slice(0, 60));
  await new Promise((r) => setTimeout(r, 1000));
  const entries = await page.$$(`xpath/.//*[contains(text(), ${JSON.stringify(name.slice(0, 60))})]`);
  if (entries.length === 0) throw new Error(`no test named like "${name}" in the report`);
  // Several tests named alike (a describe.each over nodes): --nth picks one, else the last.
  if (nth !== undefined && nth > entries.length) throw new Error(`--nth ${nth}: only ${entries.length} test(s) named like "${name}"`);
  await entries[(nth ?? entries.length) - 1].click();
  await page.waitForFunction(() => /Test Annotations|Report/.test(document.body.innerText), { timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 1500));
  if (open) {
    // A text attachment is a data: link; its text is shown in a page of its own.
    const href = await page.evaluate((type) => {
      const label = [...document.querySelectorAll('*')].find((e) => e.children.length === 0 && e.textContent?.trim() === type);
      const box = label?.closest('div')?.parentElement;
      return box?.querySelector('a[href^="data:"]')?.getAttribute('href') ?? undefined;
    }, open);
    if (!href) throw new Error(`no "${open}" attachment on that test`);
    const comma = href.indexOf(',');
    const data = href.slice(comma + 1);
    const text = href.slice(0, comma).endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    const escaped = text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c as '&' | '<' | '>']);
    await page.setViewport({ width: 1500, height: 400 });
    await page.setContent(`<h3 style="font: bold 14px sans-serif; margin: 12px">${open} attachment of: ${name.replace(/[&<>]/g, '')}</h3><pre style="font: 12px monospace; white-space: pre-wrap; margin: 12px">${escaped}</pre>`);
  }
  await page.screenshot({ path: out as `${string}.png`, fullPage: true });
  console.log(`report-screenshot: ${out} (${fs.statSync(out).size} bytes)`);
} catch (e) {
  console.error(`report-screenshot: ${(e as Error).message}`);
  code = 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(code);
