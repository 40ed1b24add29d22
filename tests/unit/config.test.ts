import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, bool, loadConfig } from '../../harness/config.js';
import { UsageError } from '../../harness/errors.js';

/** A fixed, explicit environment: loadConfig never sees process.env here. */
const BASE = { HOME: '/home/tester' } as NodeJS.ProcessEnv;

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...BASE, ...extra } as NodeJS.ProcessEnv;
}

function usageError(e: NodeJS.ProcessEnv): UsageError {
  try {
    loadConfig(e);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig(BASE)).toEqual({
      profile: 'default',
      stack: 'reference',
      stateDir: '/home/tester/.ultracloud-test-cluster',
      cacheDir: '/home/tester/.cache/ultracloud-test-cluster',
      accel: 'auto',
      portBase: 22200,
      bootTimeoutS: 900,
      debianSources: undefined,
      keepCluster: false,
      attachOnly: false,
      verbose: false,
      quiet: false,
      cold: false,
      devRecipeDrift: false,
    });
  });

  it('treats empty values as unset', () => {
    const cfg = loadConfig(env({ ULTRACLOUD_ACCEL: '', ULTRACLOUD_PORT_BASE: '', ULTRACLOUD_PROFILE: '', PHOTON_VM_DIR: '' }));
    expect(cfg.accel).toBe('auto');
    expect(cfg.portBase).toBe(22200);
    expect(cfg.profile).toBe('default');
    expect(cfg.stateDir).toBe('/home/tester/.ultracloud-test-cluster');
  });

  it('uses PHOTON_VM_DIR as the state dir of the default profile', () => {
    expect(loadConfig(env({ PHOTON_VM_DIR: '/srv/vms' })).stateDir).toBe('/srv/vms');
  });

  it('puts the image cache under XDG_CACHE_HOME, or ULTRACLOUD_IMAGE_CACHE when set', () => {
    expect(loadConfig(env({ XDG_CACHE_HOME: '/xdg' })).cacheDir).toBe('/xdg/ultracloud-test-cluster');
    expect(loadConfig(env({ XDG_CACHE_HOME: '/xdg', ULTRACLOUD_IMAGE_CACHE: '/images' })).cacheDir).toBe('/images');
  });

  it('reads the valid knobs', () => {
    const cfg = loadConfig(
      env({
        ULTRACLOUD_ACCEL: 'tcg',
        ULTRACLOUD_PORT_BASE: '30000',
        ULTRACLOUD_BOOT_TIMEOUT: '60',
        ULTRACLOUD_DEBIAN_SOURCES: '/etc/apt/sources.list.d/debian.sources',
      }),
    );
    expect(cfg.accel).toBe('tcg');
    expect(cfg.portBase).toBe(30000);
    expect(cfg.bootTimeoutS).toBe(60);
    expect(cfg.debianSources).toBe('/etc/apt/sources.list.d/debian.sources');
  });

  it('accepts the port base range bounds', () => {
    expect(loadConfig(env({ ULTRACLOUD_PORT_BASE: '1024' })).portBase).toBe(1024);
    expect(loadConfig(env({ ULTRACLOUD_PORT_BASE: '65000' })).portBase).toBe(65000);
  });

  it('rejects an unknown ULTRACLOUD_PROFILE (a non-default one would get <dir>-<profile>)', () => {
    const e = usageError(env({ ULTRACLOUD_PROFILE: 'large', PHOTON_VM_DIR: '/srv/vms' }));
    expect(e.message).toContain('ULTRACLOUD_PROFILE');
    expect(e.message).toContain('large');
    expect(e.message).toContain('default');
  });

  it.each(['foo', 'KVM', 'none'])('rejects ULTRACLOUD_ACCEL=%s', (value) => {
    const e = usageError(env({ ULTRACLOUD_ACCEL: value }));
    expect(e.message).toContain('ULTRACLOUD_ACCEL');
    expect(e.message).toContain(value);
  });

  it.each(['abc', '22200x', '-1', '2.5', ' 22200'])('rejects a non-number ULTRACLOUD_PORT_BASE=%j', (value) => {
    const e = usageError(env({ ULTRACLOUD_PORT_BASE: value }));
    expect(e.message).toContain('ULTRACLOUD_PORT_BASE');
    expect(e.message).toContain('not a whole number');
  });

  it.each(['80', '1023', '65001', '99999'])('rejects an out-of-range ULTRACLOUD_PORT_BASE=%s', (value) => {
    const e = usageError(env({ ULTRACLOUD_PORT_BASE: value }));
    expect(e.message).toContain('ULTRACLOUD_PORT_BASE');
    expect(e.message).toContain('outside 1024..65000');
  });

  it('rejects an out-of-range ULTRACLOUD_BOOT_TIMEOUT', () => {
    expect(usageError(env({ ULTRACLOUD_BOOT_TIMEOUT: '5' })).message).toContain('ULTRACLOUD_BOOT_TIMEOUT');
  });

  it('rejects an unknown ULTRACLOUD_STACK', () => {
    expect(usageError(env({ ULTRACLOUD_STACK: 'other' })).message).toContain('ULTRACLOUD_STACK');
  });

  it.each(['vms', './vms', '~/vms'])('rejects a relative PHOTON_VM_DIR=%s', (value) => {
    const e = usageError(env({ PHOTON_VM_DIR: value }));
    expect(e.message).toContain('PHOTON_VM_DIR');
    expect(e.message).toContain(value);
  });

  it('rejects a relative ULTRACLOUD_IMAGE_CACHE', () => {
    expect(usageError(env({ ULTRACLOUD_IMAGE_CACHE: 'cache' })).message).toContain('ULTRACLOUD_IMAGE_CACHE');
  });

  it.each([
    ['/srv/vms/images', '/srv/vms'],
    ['/srv/vms', '/srv/vms'],
    ['/srv/vms/', '/srv/vms'],
    ['/srv/vms/a/b', '/srv/vms'],
    ['/srv/vms/..cache', '/srv/vms'],
  ])('rejects an image cache %s inside the state dir %s (clean would delete it)', (cache, state) => {
    const e = usageError(env({ PHOTON_VM_DIR: state, ULTRACLOUD_IMAGE_CACHE: cache }));
    expect(e.message).toContain('ULTRACLOUD_IMAGE_CACHE');
    expect(e.message).toContain(state);
  });

  it('rejects the default cache dir when PHOTON_VM_DIR contains it', () => {
    const e = usageError(env({ PHOTON_VM_DIR: '/home/tester' }));
    expect(e.message).toContain('ULTRACLOUD_IMAGE_CACHE');
  });

  it.each([
    ['/srv/vms-cache', '/srv/vms'],
    ['/srv', '/srv/vms'],
    ['/srv/other/vms', '/srv/vms'],
  ])('accepts an image cache %s outside the state dir %s', (cache, state) => {
    const cfg = loadConfig(env({ PHOTON_VM_DIR: state, ULTRACLOUD_IMAGE_CACHE: cache }));
    expect(cfg.cacheDir).toBe(cache);
    expect(path.isAbsolute(cfg.stateDir)).toBe(true);
  });
});

describe('boolean knobs', () => {
  const KNOBS = [
    ['ULTRACLOUD_KEEP_CLUSTER', 'keepCluster'],
    ['ULTRACLOUD_ATTACH_ONLY', 'attachOnly'],
    ['ULTRACLOUD_VERBOSE', 'verbose'],
    ['ULTRACLOUD_QUIET', 'quiet'],
    ['ULTRACLOUD_COLD', 'cold'],
    ['ULTRACLOUD_DEV_RECIPE_DRIFT', 'devRecipeDrift'],
  ] as const;

  describe.each(KNOBS)('%s', (name, key) => {
    it.each(['1', 'true', 'TRUE', 'True', 'yes', 'YES'])('%s is true', (value) => {
      expect(loadConfig(env({ [name]: value }))[key]).toBe(true);
    });

    it.each(['0', 'false', 'FALSE', 'no', 'No', ''])('%j is false', (value) => {
      expect(loadConfig(env({ [name]: value }))[key]).toBe(false);
    });

    it('is false when unset', () => {
      expect(loadConfig(BASE)[key]).toBe(false);
    });

    it.each(['2', 'on', 'off', 'y', 'n', 'ture', ' 1', '1 ', 'enabled'])('rejects %j, naming the variable', (value) => {
      const e = usageError(env({ [name]: value }));
      expect(e.message).toContain(name);
      expect(e.message).toContain(`'${value}'`);
    });
  });

  it('KEEP_CLUSTER=true keeps the cluster (the old check only knew "1")', () => {
    expect(loadConfig(env({ ULTRACLOUD_KEEP_CLUSTER: 'true' })).keepCluster).toBe(true);
  });

  it('bool() is the same parser', () => {
    expect(bool('X', 'Yes')).toBe(true);
    expect(bool('X', undefined)).toBe(false);
    expect(() => bool('X', 'maybe')).toThrow(UsageError);
  });
});

describe('readers of the boolean knobs', () => {
  it('read them only through loadConfig (no process.env.ULTRACLOUD_<bool> elsewhere)', () => {
    const root = PROJECT_ROOT;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(p);
        } else if (/\.(ts|mts|mjs)$/.test(e.name) && !p.endsWith(path.join('harness', 'config.ts')) && !p.includes(path.join('tests', 'unit'))) {
          const text = fs.readFileSync(p, 'utf8');
          if (/env\.ULTRACLOUD_(KEEP_CLUSTER|ATTACH_ONLY|VERBOSE|QUIET|COLD)\b/.test(text)) offenders.push(path.relative(root, p));
        }
      }
    };
    for (const d of ['harness', 'cli', 'bench', 'fixtures', 'stacks', 'scripts', 'tests']) walk(path.join(root, d));
    expect(offenders).toEqual([]);
  });
});
