import { describe, expect, it } from 'vitest';
import { ENV, FaultPlanError, faultPlan, planOptions } from '../../fixtures/fault-plan.js';

describe('fault plan', () => {
  it('the quick plan: the leader cut off 45 s, the first follower paused 10 s, the second killed; 95 s', () => {
    expect(faultPlan('node02', ['node01', 'node03'])).toEqual({
      timeLimitS: 95,
      steps: [
        { gapS: 8, nemesis: 'partition', target: 'node02', holdS: 45 },
        { gapS: 6, nemesis: 'pause', target: 'node01', holdS: 10 },
        { gapS: 4, nemesis: 'crash', target: 'node03', holdS: 2 },
      ],
    });
  });

  it('a time limit repeats the kinds while they fit (with 20 s of quiet at the end), each on the next member', () => {
    const p = faultPlan('node02', ['node01', 'node03'], { timeLimitS: 300, nemeses: ['pause', 'crash'] });
    expect(p.timeLimitS).toBe(300);
    const used = p.steps.reduce((a, s) => a + s.gapS + s.holdS, 0);
    expect(used + 20).toBeLessThanOrEqual(300);
    expect(used + 20 + 16).toBeGreaterThan(300); // one more pause would not fit
    expect(p.steps.slice(0, 4).map((s) => `${s.nemesis} ${s.target}`)).toEqual(['pause node01', 'crash node03', 'pause node03', 'crash node02']);
    expect(new Set(p.steps.map((s) => s.nemesis))).toEqual(new Set(['pause', 'crash']));
  });

  it('partitions only: the leader first, then each follower in turn', () => {
    const p = faultPlan('node01', ['node02', 'node03'], { timeLimitS: 200, nemeses: ['partition'] });
    expect(p.steps.map((s) => s.target)).toEqual(['node01', 'node02', 'node03']);
  });

  it('a limit too short for one fault is one line', () => {
    expect(() => faultPlan('node01', ['node02', 'node03'], { timeLimitS: 60, nemeses: ['partition'] })).toThrow('--time-limit 60: too short for one partition (73 s)');
  });

  it('reads the options from the environment; bad values are one line each', () => {
    expect(planOptions({})).toEqual({});
    expect(planOptions({ [ENV.timeLimit]: '600', [ENV.nemesis]: 'crash,partition' })).toEqual({ timeLimitS: 600, nemeses: ['partition', 'crash'] });
    expect(() => planOptions({ [ENV.timeLimit]: '10' })).toThrow(FaultPlanError);
    expect(() => planOptions({ [ENV.timeLimit]: '1.5m' })).toThrow('--time-limit "1.5m": whole seconds, at least 60');
    expect(() => planOptions({ [ENV.nemesis]: 'partition,clock' })).toThrow('--nemesis "partition,clock": a comma list of partition, pause, crash (not clock)');
  });
});

describe('cluster faults options', () => {
  it('takes --time-limit and --nemesis (either form) out of the arguments and leaves the rest for vitest, in order', async () => {
    const { takeFaultOptions } = await import('../../cli/faults.js');
    expect(takeFaultOptions(['--cold', '--time-limit', '600', '-t', 'partitioned', '--nemesis=pause,crash'])).toEqual({
      env: { [ENV.timeLimit]: '600', [ENV.nemesis]: 'pause,crash' },
      rest: ['--cold', '-t', 'partitioned'],
    });
    expect(takeFaultOptions(['-t', 'x', '--', '--nemesis', 'clock']).rest).toEqual(['-t', 'x', '--', '--nemesis', 'clock']);
    expect(() => takeFaultOptions(['--time-limit'])).toThrow('--time-limit needs a value');
    expect(() => takeFaultOptions(['--nemesis', 'clock'])).toThrow('--nemesis "clock": a comma list of partition, pause, crash (not clock)');
    expect(() => takeFaultOptions(['--time-limit', '30'])).toThrow('--time-limit "30": whole seconds, at least 60');
  });
});
