/**
 * The Debian archive for image builds comes from the host's own apt
 * configuration, never from a host name written in this project.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../errors.js';

/** deb822 stanzas (or one-line entries, converted) that serve `suite` and its updates/security. */
export function hostSourcesFor(suite: string, explicitFile?: string): string {
  const files = explicitFile ? [explicitFile] : listSourceFiles('/etc/apt');
  const stanzas: string[] = [];
  for (const file of files) {
    if (!fs.existsSync(file)) throw new HostError(`apt sources file ${file} does not exist`);
    const text = fs.readFileSync(file, 'utf8');
    stanzas.push(...(file.endsWith('.sources') ? deb822Stanzas(text) : oneLineStanzas(text)).filter((s) => servesSuite(s, suite)));
  }
  if (stanzas.length === 0) {
    throw new HostError(
      `no apt source for Debian '${suite}' on this host (looked in ${explicitFile ?? '/etc/apt/sources.list{,.d/*}'}); set ULTRACLOUD_DEBIAN_SOURCES to a .sources file`,
    );
  }
  return `${stanzas.join('\n\n')}\n`;
}

function listSourceFiles(etcApt: string): string[] {
  const out: string[] = [];
  const main = path.join(etcApt, 'sources.list');
  if (fs.existsSync(main)) out.push(main);
  const dir = path.join(etcApt, 'sources.list.d');
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) out.push(path.join(dir, f));
    }
  }
  return out;
}

export function deb822Stanzas(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('#') && l.trim() !== '')
        .join('\n'),
    )
    .filter((s) => s.length > 0 && !/^Enabled:\s*no\s*$/im.test(s));
}

export function oneLineStanzas(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) continue;
    const [, opts, uri, suite, comps] = m;
    const fields = [`Types: deb`, `URIs: ${uri}`, `Suites: ${suite}`, `Components: ${comps.trim()}`];
    for (const opt of (opts ?? '').split(/\s+/).filter(Boolean)) {
      const [k, v] = opt.split('=');
      if (k === 'signed-by') fields.push(`Signed-By: ${v}`);
    }
    out.push(fields.join('\n'));
  }
  return out;
}

function servesSuite(stanza: string, suite: string): boolean {
  // `\bdeb\b` would also match `deb-src`: compare whole words.
  const types = /^Types:\s*(.+)$/im.exec(stanza)?.[1].trim().split(/\s+/) ?? [];
  if (!types.includes('deb')) return false;
  // The suite, its updates and security; not backports or proposed-updates.
  const wanted = [suite, `${suite}-updates`, `${suite}-security`, `${suite}/updates`];
  const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1].trim().split(/\s+/) ?? [];
  return suites.some((s) => wanted.includes(s));
}
