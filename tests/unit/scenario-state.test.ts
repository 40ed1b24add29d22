import { describe, expect, it } from 'vitest';
import { MissingStepError, stepState } from '../../fixtures/scenario.js';

/** A test context's skip, as Vitest's: it throws (here a marker, so the test can see it was called). */
class Skipped extends Error {}
const skip = (note?: string): never => {
  throw new Skipped(note);
};

const RESERVES = 'the tenant reserves credits (201)';

describe('stepState: what a later step gets', () => {
  it('the value, when the producing step made it', () => {
    const reserved = stepState<string>(RESERVES);
    reserved.begin();
    reserved.set('r-1');
    expect(reserved.need(skip)).toBe('r-1');
    expect(reserved.valueForCleanup).toBe('r-1');
    expect(reserved.present).toBe(true);
  });

  it('a falsy value counts as made', () => {
    const count = stepState<number>('counts');
    count.begin();
    count.set(0);
    expect(count.need(skip)).toBe(0);
  });

  it('a skip naming the step, when the producing step ran in this run and failed before making it', () => {
    const reserved = stepState<string>(RESERVES);
    reserved.begin(); // ... and then the step threw
    expect(() => reserved.need(skip)).toThrow(Skipped);
    expect(() => reserved.need(skip)).toThrow(`needs step "${RESERVES}" of this scenario, which failed or was skipped earlier in this run`);
    expect(reserved.valueForCleanup).toBeUndefined();
    expect(reserved.present).toBe(false);
  });

  it('a skip down the chain, when the producing step skipped itself for a step before it', () => {
    const reserved = stepState<string>(RESERVES);
    const paid = stepState<number>('the paid write');
    reserved.begin();
    expect(() => {
      paid.begin();
      paid.set(reserved.need(skip).length);
    }).toThrow(Skipped);
    expect(() => paid.need(skip)).toThrow(Skipped);
  });

  it('still no value, never a green step, where the context has no skip that throws', () => {
    const reserved = stepState<string>(RESERVES);
    reserved.begin();
    expect(() => reserved.need(() => undefined)).toThrow(`needs step "${RESERVES}"`);
  });

  it('a MissingStepError naming the step, when the producing step did not run in this run (the later one ran alone)', () => {
    const reserved = stepState<string>(RESERVES);
    let skipped = false;
    const e = (() => {
      try {
        reserved.need(() => {
          skipped = true;
        });
      } catch (err) {
        return err;
      }
    })();
    expect(skipped).toBe(false);
    expect(e).toBeInstanceOf(MissingStepError);
    expect((e as MissingStepError).step).toBe(RESERVES);
    expect((e as Error).message).toMatch(/^needs step "the tenant reserves credits \(201\)" of this scenario, which did not run in this run/);
    expect((e as Error).message).toContain('rerun-failed');
    expect(reserved.valueForCleanup).toBeUndefined();
  });

  it('begin() forgets a value of an earlier try (a retried step starts afresh)', () => {
    const reserved = stepState<string>(RESERVES);
    reserved.begin();
    reserved.set('r-1');
    reserved.begin();
    expect(reserved.valueForCleanup).toBeUndefined();
    expect(() => reserved.need(skip)).toThrow(Skipped);
  });

  it('consume(): nothing left for cleanup, and a step still asking for it is an error, not a skip', () => {
    const reserved = stepState<string>(RESERVES);
    reserved.begin();
    reserved.set('r-1');
    reserved.consume();
    expect(reserved.valueForCleanup).toBeUndefined();
    expect(reserved.present).toBe(false);
    let skipped = false;
    expect(() =>
      reserved.need(() => {
        skipped = true;
      }),
    ).toThrow(`the state of step "${RESERVES}" was used up by a later step`);
    expect(skipped).toBe(false);
  });
});
