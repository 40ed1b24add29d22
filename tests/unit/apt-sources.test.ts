import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../harness/errors.js';
import { deb822Stanzas, hostSourcesFor, oneLineStanzas } from '../../harness/image/apt-sources.js';

const MIRROR = 'http://mirror.example/debian';
const SECURITY = 'http://security.example/debian-security';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-apt-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function hostErrorOf(fn: () => unknown): HostError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    return e as HostError;
  }
  throw new Error('expected a HostError');
}

describe('deb822Stanzas', () => {
  it('splits stanzas and drops comment lines', () => {
    const text = [
      '# Debian main archive',
      'Types: deb',
      'URIs: http://mirror.example/debian',
      '# an inline comment line',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
      '   # indented comment',
      'Types: deb',
      'URIs: http://security.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
    ].join('\n');
    expect(deb822Stanzas(text)).toEqual([
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main',
      'Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main',
    ]);
  });

  it('drops stanzas that are only comments, and disabled stanzas', () => {
    const text = [
      '# just a comment',
      '# and another',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb',
      'URIs: http://mirror.example/other',
      'Suites: bookworm',
      'Components: main',
      'Enabled: yes',
    ].join('\n');
    const stanzas = deb822Stanzas(text);
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]).toContain('URIs: http://mirror.example/other');
    expect(stanzas[0]).toContain('Enabled: yes');
  });

  it('separates stanzas on blank lines that hold whitespace', () => {
    const text = 'Types: deb\nURIs: a\nSuites: bookworm\n   \nTypes: deb\nURIs: b\nSuites: bookworm\n';
    expect(deb822Stanzas(text)).toHaveLength(2);
  });
});

describe('oneLineStanzas', () => {
  it('converts a one-line entry with signed-by to deb822', () => {
    expect(oneLineStanzas(`deb [signed-by=/k.gpg] ${MIRROR} bookworm main`)).toEqual([
      [`Types: deb`, `URIs: ${MIRROR}`, 'Suites: bookworm', 'Components: main', 'Signed-By: /k.gpg'].join('\n'),
    ]);
  });

  it('keeps every component and ignores other options', () => {
    expect(oneLineStanzas(`deb [arch=amd64 signed-by=/k.gpg] ${MIRROR} bookworm-updates main contrib non-free-firmware`)).toEqual([
      [
        'Types: deb',
        `URIs: ${MIRROR}`,
        'Suites: bookworm-updates',
        'Components: main contrib non-free-firmware',
        'Signed-By: /k.gpg',
      ].join('\n'),
    ]);
  });

  it('converts an entry without options, with no Signed-By', () => {
    const [s] = oneLineStanzas(`deb ${SECURITY} bookworm-security main`);
    expect(s).toBe(`Types: deb\nURIs: ${SECURITY}\nSuites: bookworm-security\nComponents: main`);
    expect(s).not.toContain('Signed-By');
  });

  it('skips comments, deb-src lines, blanks and malformed lines; strips trailing comments', () => {
    const text = [
      `# deb ${MIRROR} bookworm main`,
      `deb-src ${MIRROR} bookworm main`,
      '',
      'deb',
      `deb ${MIRROR}`,
      `deb ${MIRROR} bookworm main # the main archive`,
    ].join('\n');
    expect(oneLineStanzas(text)).toEqual([`Types: deb\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main`]);
  });
});

describe('hostSourcesFor', () => {
  it('keeps only the deb822 stanzas serving the suite, its updates and security', () => {
    const file = write(
      'mixed.sources',
      [
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm bookworm-updates\nComponents: main`,
        `Types: deb\nURIs: ${SECURITY}\nSuites: bookworm-security\nComponents: main`,
        `Types: deb\nURIs: ${MIRROR}\nSuites: trixie\nComponents: main`,
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm-backports\nComponents: main`,
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm-proposed-updates\nComponents: main`,
        `Types: deb\nURIs: http://mirror.example/elsewhere\nSuites: bookworm\nComponents: main\nEnabled: no`,
        `Types: deb-src\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main`,
      ].join('\n\n'),
    );
    const out = hostSourcesFor('bookworm', file);
    expect(out).toBe(
      [
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm bookworm-updates\nComponents: main`,
        `Types: deb\nURIs: ${SECURITY}\nSuites: bookworm-security\nComponents: main`,
      ].join('\n\n') + '\n',
    );
  });

  it('keeps a stanza with both deb and deb-src types', () => {
    const file = write('both.sources', `Types: deb deb-src\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main\n`);
    expect(hostSourcesFor('bookworm', file)).toBe(`Types: deb deb-src\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main\n`);
  });

  it('converts and filters a one-line .list file', () => {
    const file = write(
      'sources.list',
      [
        `deb [signed-by=/k.gpg] ${MIRROR} bookworm main`,
        `deb ${MIRROR} bookworm-updates main`,
        `deb ${SECURITY} bookworm-security main`,
        `deb ${MIRROR} trixie main`,
        `deb ${MIRROR} bookworm-backports main`,
        `deb-src ${MIRROR} bookworm main`,
      ].join('\n'),
    );
    const out = hostSourcesFor('bookworm', file);
    expect(out).toBe(
      [
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main\nSigned-By: /k.gpg`,
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm-updates\nComponents: main`,
        `Types: deb\nURIs: ${SECURITY}\nSuites: bookworm-security\nComponents: main`,
      ].join('\n\n') + '\n',
    );
  });

  it('errors when no stanza serves the suite', () => {
    const file = write('trixie.sources', `Types: deb\nURIs: ${MIRROR}\nSuites: trixie trixie-updates\nComponents: main\n`);
    const e = hostErrorOf(() => hostSourcesFor('bookworm', file));
    expect(e.message).toContain("'bookworm'");
    expect(e.message).toContain(file);
    expect(e.message).toContain('ULTRACLOUD_DEBIAN_SOURCES');
  });

  it('errors when the only matching stanzas are deb-src or disabled', () => {
    const file = write(
      'src-only.sources',
      [
        `Types: deb-src\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main`,
        `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm\nComponents: main\nEnabled: no`,
      ].join('\n\n'),
    );
    hostErrorOf(() => hostSourcesFor('bookworm', file));
  });

  it('errors when the file is empty or only comments', () => {
    hostErrorOf(() => hostSourcesFor('bookworm', write('empty.list', '')));
    hostErrorOf(() => hostSourcesFor('bookworm', write('comments.list', `# deb ${MIRROR} bookworm main\n`)));
  });

  it('errors when the explicit file is missing', () => {
    const missing = path.join(dir, 'nope.sources');
    const e = hostErrorOf(() => hostSourcesFor('bookworm', missing));
    expect(e.message).toContain(missing);
    expect(e.message).toContain('does not exist');
  });
});
