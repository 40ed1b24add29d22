/**
 * One mmdebstrap run into a directory, with its progress on our log: the
 * node image (debian.ts) and the tenant guest images (guest.ts) both start
 * from a Debian root made this way from the host's apt sources.
 */
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { progress, withHeartbeat } from '../log.js';

/** Docs, man pages and locales are never read on a node or a guest. */
export const DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/info/*',
];

export interface MmdebstrapRun {
  /** Log scope (`image`, `guest`). */
  scope: string;
  variant: 'essential' | 'minbase';
  suite: string;
  packages: string[];
  rootfs: string;
  /** deb822 sources file (the host's own, filtered to the suite). */
  sourcesFile: string;
  /** mmdebstrap --customize-hook values, in order. */
  customizeHooks: string[];
  verbose: boolean;
}

export async function mmdebstrap(run: MmdebstrapRun): Promise<void> {
  let last = '';
  const child = execa(
    'mmdebstrap',
    [
      `--variant=${run.variant}`,
      '--mode=root',
      '--format=directory',
      ...(run.packages.length ? [`--include=${run.packages.join(',')}`] : []),
      ...DPKG_EXCLUDES.map((o) => `--dpkgopt=${o}`),
      '--aptopt=Acquire::Retries "3"',
      ...run.customizeHooks.map((h) => `--customize-hook=${h}`),
      run.suite,
      run.rootfs,
      run.sourcesFile,
    ],
    { all: true, buffer: false, env: { LC_ALL: 'C.UTF-8' } },
  );
  const transcript: string[] = [];
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      transcript.push(line);
      if (transcript.length > 200) transcript.shift();
      last = line;
      // mmdebstrap's steps, and a role script's "<role>: WARNING: ..." (a build that went on without something).
      if (/^I: |^[\w-]+: WARNING: /.test(line) || run.verbose) progress(run.scope, line);
    }
  });
  try {
    await withHeartbeat(20_000, (ms) => progress(run.scope, `still building (${Math.round(ms / 1000)}s): ${last.slice(0, 100)}`), child);
  } catch (e) {
    throw new HostError(`mmdebstrap failed (see the lines above):\n${transcript.slice(-30).join('\n')}\n${(e as Error).message.split('\n')[0]}`);
  }
}
