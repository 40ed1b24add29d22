import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClusterRuntime, attachRefusal } from '../../harness/cluster.js';
import { attachPolicy, readRuntime, setBootState, writeRuntime } from '../../harness/cluster/runtime.js';

const STATE = '/srv/uc-state';

function runtime(over: Partial<ClusterRuntime> = {}): ClusterRuntime {
  return {
    profile: 'default',
    stack: 'reference',
    image: {
      stack: 'reference',
      hash: 'aaaaaaaaaaaaaaaa',
      dir: '/cache/images/reference-aaaaaaaaaaaaaaaa',
      disk: '/cache/images/reference-aaaaaaaaaaaaaaaa/disk.qcow2',
      kernel: '/cache/images/reference-aaaaaaaaaaaaaaaa/vmlinuz',
      initrd: '/cache/images/reference-aaaaaaaaaaaaaaaa/initrd.img',
      probeInitrd: '/cache/images/reference-aaaaaaaaaaaaaaaa/probe-initrd.img',
      builtAt: '2026-01-01T00:00:00.000Z',
      buildSeconds: 100,
    },
    accel: 'tcg',
    accelReason: 'forced',
    portBase: 22200,
    startedAt: '2026-01-01T01:00:00.000Z',
    recipeHash: 'aaaaaaaaaaaaaaaa',
    pid: 1234,
    state: 'ready',
    updatedAt: '2026-01-01T01:05:00.000Z',
    ...over,
  };
}

const alive = () => true;
const dead = () => false;

describe('attachRefusal', () => {
  it('lets tests attach to a ready cluster of the current recipe, whoever booted it', () => {
    expect(attachRefusal(STATE, runtime(), 'aaaaaaaaaaaaaaaa', alive)).toBeUndefined();
    expect(attachRefusal(STATE, runtime(), 'aaaaaaaaaaaaaaaa', dead)).toBeUndefined();
  });

  it('refuses a cluster booted from another image recipe, in one line that says to stop or restart it', () => {
    const line = attachRefusal(STATE, runtime(), 'bbbbbbbbbbbbbbbb', alive)!;
    expect(line).toBeDefined();
    expect(line).not.toContain('\n');
    expect(line).toContain(STATE);
    expect(line).toContain('aaaaaaaaaaaaaaaa');
    expect(line).toContain('bbbbbbbbbbbbbbbb');
    expect(line).toContain('cluster stop');
  });

  it('uses the image hash when cluster.json predates recipeHash', () => {
    const legacy = runtime({ recipeHash: undefined, pid: undefined, state: undefined });
    expect(attachRefusal(STATE, legacy, 'aaaaaaaaaaaaaaaa', dead)).toBeUndefined();
    expect(attachRefusal(STATE, legacy, 'cccccccccccccccc', dead)).toContain('cccccccccccccccc');
  });

  it('does not check the recipe when this host cannot compute it', () => {
    expect(attachRefusal(STATE, runtime(), undefined, alive)).toBeUndefined();
  });

  it('refuses a cluster left half-booted by a runner that is gone, in one line naming it', () => {
    const line = attachRefusal(STATE, runtime({ state: 'booting', pid: 999_999 }), 'aaaaaaaaaaaaaaaa', dead)!;
    expect(line).toBeDefined();
    expect(line).not.toContain('\n');
    expect(line).toContain('half-booted');
    expect(line).toContain('pid 999999');
    expect(line).toContain('cluster stop');
    expect(line).toContain('cluster start');
  });

  it('passes the pid to the liveness check it is given', () => {
    const seen: number[] = [];
    attachRefusal(STATE, runtime({ state: 'booting', pid: 4321 }), 'aaaaaaaaaaaaaaaa', (pid) => {
      seen.push(pid);
      return true;
    });
    expect(seen).toEqual([4321]);
  });

  it('does not refuse a boot still in progress by a live runner, nor one that failed (its tests say why)', () => {
    expect(attachRefusal(STATE, runtime({ state: 'booting' }), 'aaaaaaaaaaaaaaaa', alive)).toBeUndefined();
    expect(attachRefusal(STATE, runtime({ state: 'failed', failedNodes: ['node03'] }), 'aaaaaaaaaaaaaaaa', dead)).toBeUndefined();
  });

  it('reports the recipe first when both are wrong', () => {
    expect(attachRefusal(STATE, runtime({ state: 'booting' }), 'bbbbbbbbbbbbbbbb', dead)).toContain('recipe');
  });

  it('refuses running QEMUs with no cluster.json at all', () => {
    const line = attachRefusal(STATE, undefined, 'aaaaaaaaaaaaaaaa', alive)!;
    expect(line).toContain('cluster.json');
    expect(line).toContain('cluster stop');
  });
});

describe('attachPolicy (ULTRACLOUD_DEV_RECIPE_DRIFT)', () => {
  it('without the drift flag is attachRefusal, with no warning', () => {
    expect(attachPolicy(STATE, runtime(), 'bbbbbbbbbbbbbbbb', false, alive)).toEqual({ refusal: attachRefusal(STATE, runtime(), 'bbbbbbbbbbbbbbbb', alive) });
    expect(attachPolicy(STATE, runtime(), 'aaaaaaaaaaaaaaaa', false, alive)).toEqual({ refusal: undefined });
  });

  it('with it, a recipe that differs is a one-line warning, not a refusal', () => {
    const p = attachPolicy(STATE, runtime(), 'bbbbbbbbbbbbbbbb', true, alive);
    expect(p.refusal).toBeUndefined();
    expect(p.warning).toContain('ULTRACLOUD_DEV_RECIPE_DRIFT');
    expect(p.warning).toContain('aaaaaaaaaaaaaaaa');
    expect(p.warning).toContain('bbbbbbbbbbbbbbbb');
    expect(p.warning).not.toContain('\n');
  });

  it('with it, every other check stays: a half-booted cluster of a dead runner is refused', () => {
    const p = attachPolicy(STATE, runtime({ state: 'booting', pid: 999_999 }), 'bbbbbbbbbbbbbbbb', true, dead);
    expect(p.warning).toBeDefined();
    expect(p.refusal).toContain('half-booted');
    expect(attachPolicy(STATE, undefined, 'bbbbbbbbbbbbbbbb', true, alive).refusal).toContain('cluster.json');
    expect(attachPolicy(STATE, runtime(), 'aaaaaaaaaaaaaaaa', true, alive)).toEqual({ refusal: undefined });
  });
});

describe('cluster.json (readRuntime, writeRuntime, setBootState)', () => {
  it('is written whole, read back, and records the boot state with its failed nodes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-runtime-'));
    try {
      const file = path.join(dir, 'cluster.json');
      expect(readRuntime(file)).toBeUndefined();
      const rt = runtime({ state: 'booting' });
      writeRuntime(file, rt);
      expect(readRuntime(file)).toEqual(rt);
      expect(fs.readdirSync(dir)).toEqual(['cluster.json']);
      setBootState(file, rt, 'failed', ['node03']);
      expect(readRuntime(file)).toMatchObject({ state: 'failed', failedNodes: ['node03'] });
      setBootState(file, rt, 'ready');
      const back = readRuntime(file)!;
      expect(back.state).toBe('ready');
      expect(back.failedNodes).toBeUndefined();
      expect(Date.parse(back.updatedAt!)).toBeGreaterThan(Date.parse('2026-01-01T01:05:00.000Z'));
      fs.writeFileSync(file, '{"half');
      expect(readRuntime(file)).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
