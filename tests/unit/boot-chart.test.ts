/** The boot timeline (harness/cluster/boot-record.ts) and its chart (fixtures/boot-chart.ts), in temp dirs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { bootBars, bootSvg } from '../../fixtures/boot-chart.js';
import { BOOT_TIMELINE, type BootRecord, appendBootRecord, readBootRecords } from '../../harness/cluster/boot-record.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-record-'));
  dirs.push(d);
  return d;
};
const T = Date.parse('2026-12-06T20:22:18Z');
const rec = (node: string, ssh: number, units: number, ready: number, at = T): BootRecord => ({ node, startedAt: at, sshAt: at + ssh * 1000, unitsAt: at + units * 1000, readyAt: at + ready * 1000 });

describe('the boot timeline', () => {
  test('records read back in order; none when nothing booted here yet', () => {
    const d = tmp();
    expect(readBootRecords(d)).toEqual([]);
    appendBootRecord(d, rec('node01', 30, 40, 41));
    appendBootRecord(d, rec('node05', 72.3, 120, 135));
    expect(readBootRecords(d).map((r) => r.node)).toEqual(['node01', 'node05']);
  });

  test('a half-written last line (a killed run) is not a record; a bad whole line is an error naming it', () => {
    const d = tmp();
    appendBootRecord(d, rec('node01', 30, 40, 41));
    fs.appendFileSync(path.join(d, BOOT_TIMELINE), '{"node":"node0');
    expect(readBootRecords(d).map((r) => r.node)).toEqual(['node01']);
    fs.appendFileSync(path.join(d, BOOT_TIMELINE), '2"}\n');
    expect(() => readBootRecords(d)).toThrow(`${BOOT_TIMELINE}:2: not a boot record`);
  });
});

describe('the boot chart', () => {
  test('three stages per boot, seconds since that boot began, labelled with node and clock', () => {
    expect(bootBars([rec('node05', 72.3, 120, 135)])).toEqual([
      { boot: 'node05 at 20:22:18 UTC', stage: 'QEMU start or restore to SSH', from: 0, to: 72.3 },
      { boot: 'node05 at 20:22:18 UTC', stage: 'SSH to units active, system running', from: 72.3, to: 120 },
      { boot: 'node05 at 20:22:18 UTC', stage: 'ready checks', from: 120, to: 135 },
    ]);
  });

  test('renders to SVG naming every boot', async () => {
    const svg = await bootSvg([rec('node01', 30, 40, 41), rec('node05', 72.3, 120, 135, T + 600_000)]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('node01 at 20:22:18 UTC');
    expect(svg).toContain('node05 at 20:32:18 UTC');
  });
});
