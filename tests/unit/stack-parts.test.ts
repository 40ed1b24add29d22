/**
 * What a stack hands the harness beyond its roles: its image backend (the
 * harness has no default), its servers' host forwards, its tenant guest
 * images and its bare-metal artifacts. The harness imports none of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baremetalArtifacts } from '../../baremetal/index.js';
import { webappGuest } from '../../guests/webapp/index.js';
import { Cluster } from '../../harness/cluster.js';
import { loadConfig } from '../../harness/config.js';
import { UsageError } from '../../harness/errors.js';
import { debianImageBackend } from '../../harness/image/backend.js';
import { baremetalRecipe } from '../../harness/image/baremetal.js';
import { imageRecipe } from '../../harness/image/debian.js';
import type { Stack } from '../../harness/stack.js';
import { PROFILES } from '../../harness/topology.js';
import { reference } from '../../stacks/reference/index.js';
import { ultracloud } from '../../stacks/ultracloud/index.js';

const SOURCES = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n';

describe('the stacks hand in', () => {
  it('their image backend: Debian for the reference stack, nix for ultracloud', () => {
    expect(reference.imageBackend?.kind).toBe('debian');
    expect(ultracloud.imageBackend?.kind).toBe('nix');
  });

  it('the tenant web app guest and the bare-metal artifacts, both stacks alike', () => {
    for (const s of [reference, ultracloud]) {
      expect(s.guests?.map((g) => g.name), s.name).toEqual(['webapp']);
      expect(s.guests?.[0], s.name).toBe(webappGuest);
      expect(s.baremetal, s.name).toBe(baremetalArtifacts);
    }
    expect(baremetalArtifacts.system.packages).toContain('grub-efi-amd64-bin');
    expect(baremetalArtifacts.installer.modules).toContain('virtio_blk');
    for (const p of [baremetalArtifacts.system.filesDir, baremetalArtifacts.system.customizeScript, baremetalArtifacts.installer.init]) expect(fs.existsSync(p), p).toBe(true);
  });
});

describe('the Debian backend', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-parts-'));
    fs.writeFileSync(path.join(dir, 'debian.sources'), SOURCES);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keys the image by the Debian recipe of the stack it is handed (the profile's narrowed one, in a cluster)", () => {
    const nodes = PROFILES.default.nodes;
    const sources = path.join(dir, 'debian.sources');
    expect(debianImageBackend().recipeHash(nodes, { stack: reference, debianSources: sources })).toBe(imageRecipe(reference, nodes, SOURCES).hash);
  });

  it('a cluster plans the same image hash through it', () => {
    const cfg = { ...loadConfig({ HOME: dir }), stateDir: path.join(dir, 'state'), cacheDir: path.join(dir, 'cache'), debianSources: path.join(dir, 'debian.sources') };
    const c = new Cluster(cfg, reference);
    expect(c.currentRecipeHash()).toBe(imageRecipe(reference, c.specs, SOURCES).hash);
  });

  it('the bare-metal recipe is the def handed in', () => {
    const a = baremetalRecipe(baremetalArtifacts, 'bookworm', SOURCES);
    const b = baremetalRecipe({ ...baremetalArtifacts, installer: { ...baremetalArtifacts.installer, modules: ['virtio_pci'] } }, 'bookworm', SOURCES);
    expect(a.hash).not.toBe(b.hash);
  });
});

describe('a stack that hands in nothing', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-parts-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const bare: Stack = { ...reference, name: 'bare', imageBackend: undefined, guests: undefined, baremetal: undefined, forwards: undefined };
  const cluster = () => new Cluster({ ...loadConfig({ HOME: dir }), stateDir: path.join(dir, 'state'), cacheDir: path.join(dir, 'cache') }, bare);

  it('cannot key or build node images: the harness has no default backend', async () => {
    const c = cluster();
    expect(c.currentRecipeHash()).toBeUndefined();
    expect(() => c.preflightImage()).toThrow(/stack bare hands in no image backend/);
    await expect(c.build()).rejects.toBeInstanceOf(UsageError);
  });

  it('has no guest and no bare-metal artifacts to build, and no gateway forwards', async () => {
    const c = cluster();
    await expect(c.buildGuest()).rejects.toThrow(/stack bare has no guest image \(its guests: none\)/);
    await expect(c.buildBaremetal()).rejects.toThrow(/stack bare has no bare-metal artifacts/);
    expect(c.specs.flatMap((s) => s.forwards.map((f) => f.name))).toEqual(c.specs.map(() => 'ssh'));
  });

  it("names the stack's guests when asked for one it lacks", async () => {
    const c = new Cluster({ ...loadConfig({ HOME: dir }), stateDir: path.join(dir, 'state'), cacheDir: path.join(dir, 'cache') }, reference);
    await expect(c.buildGuest(false, 'nope')).rejects.toThrow(/stack reference has no 'nope' guest image \(its guests: webapp\)/);
  });
});
