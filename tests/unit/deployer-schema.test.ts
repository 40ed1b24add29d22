/**
 * The deployer's service definitions: services.nix evaluated on the host by
 * Debian's nix-instantiate (pure Nix, temp state, read-only) and validated;
 * a bad definition is an error naming the service and the field.
 */
import { describe, expect, test } from 'vitest';
import { NixEvalError, evalNix, loadServices } from '../../services/deployer/nix.js';
import { DefinitionError, validateService, validateServices } from '../../services/deployer/src/schema.js';
import { SERVICES_NIX } from '../../stacks/reference/deployer/index.js';

const ok = {
  command: 'exec sleep 1000',
  health: { command: 'true' },
  replicas: 2,
  placement: { kinds: ['worker'] },
};

describe('services.nix on the host', () => {
  test('evaluates with nix-instantiate into valid definitions', async () => {
    const defs = await loadServices(SERVICES_NIX);
    expect(defs.map((d) => d.name)).toEqual(['hello-web', 'ticker']);
    const web = defs.find((d) => d.name === 'hello-web')!;
    expect(web).toMatchObject({ replicas: 2, port: 8180, placement: { kinds: ['worker'], antiAffinity: 'preferred', maxPerNode: 2 } });
    expect(web.command).toContain('busybox httpd');
    expect(web.health).toMatchObject({ intervalS: 3, timeoutS: 10 });
  });

  test('a bad definition in Nix is an error naming the service and the field', async () => {
    const expr = '{ web = { command = "x"; health = { command = "true"; }; replicas = "two"; placement = { kinds = [ "worker" ]; }; }; }';
    const raw = await evalNix({ expr });
    expect(() => validateServices(raw)).toThrow('service web: replicas: must be an integer, got a string');
  }, 60_000);

  test('a Nix error is a NixEvalError with nix-instantiate\'s message', async () => {
    await expect(evalNix({ expr: '{ a = throw "no such thing"; }' })).rejects.toThrow(NixEvalError);
    await expect(evalNix({ expr: '{ a = throw "no such thing"; }' })).rejects.toThrow(/no such thing/);
  }, 60_000);
});

describe('schema', () => {
  const err = (name: string, raw: unknown) => {
    try {
      validateService(name, raw);
    } catch (e) {
      expect(e).toBeInstanceOf(DefinitionError);
      return (e as DefinitionError).message;
    }
    throw new Error('no error');
  };

  test('defaults: health interval and timeout 5 s, preferred anti-affinity, maxPerNode = replicas', () => {
    expect(validateService('web', ok)).toEqual({
      name: 'web',
      command: 'exec sleep 1000',
      health: { command: 'true', intervalS: 5, timeoutS: 5 },
      replicas: 2,
      placement: { kinds: ['worker'], antiAffinity: 'preferred', maxPerNode: 2 },
    });
    expect(validateService('web', { ...ok, placement: { kinds: ['worker'], antiAffinity: 'required' } }).placement.maxPerNode).toBe(1);
  });

  test.each([
    ['replicas', { ...ok, replicas: 'two' }, 'service web: replicas: must be an integer, got a string'],
    ['replicas', { ...ok, replicas: -1 }, 'service web: replicas: must be between 0 and 16, got -1'],
    ['command', { ...ok, command: '' }, 'service web: command: must not be empty'],
    ['health', { ...ok, health: 'true' }, 'service web: health: must be an attribute set, got a string'],
    ['health.command', { ...ok, health: {} }, 'service web: health.command: must be a string, got a undefined'],
    ['health.intervalS', { ...ok, health: { command: 'true', intervalS: 0 } }, 'service web: health.intervalS: must be between 1 and 300, got 0'],
    ['placement.kinds', { ...ok, placement: { kinds: [] } }, 'service web: placement.kinds: must be a non-empty list'],
    ['placement.kinds[1]', { ...ok, placement: { kinds: ['worker', 'gpu'] } }, 'service web: placement.kinds[1]: unknown node kind "gpu"'],
    ['placement.antiAffinity', { ...ok, placement: { kinds: ['worker'], antiAffinity: 'maybe' } }, 'service web: placement.antiAffinity: must be "required", "preferred" or "none"'],
    ['placement.maxPerNode', { ...ok, placement: { kinds: ['worker'], antiAffinity: 'required', maxPerNode: 2 } }, 'service web: placement.maxPerNode: must be 1 with antiAffinity "required"'],
    ['port', { ...ok, port: 80 }, 'service web: port: must be between 1024'],
    ['an unknown field', { ...ok, replica: 2 }, 'service web: replica: unknown field'],
    ['a missing field', { command: 'x', health: { command: 'true' }, replicas: 1 }, 'service web: placement: missing'],
  ])('%s', (_what, raw, message) => {
    expect(err('web', raw)).toContain(message);
  });

  test('names must suit unit names and keys', () => {
    expect(err('Web_1', ok)).toContain('service Web_1: name: must match');
  });

  test('overlapping port ranges of two services are refused, naming the later one', () => {
    expect(() => validateServices({ a: { ...ok, port: 9000, replicas: 2 }, b: { ...ok, port: 9001, replicas: 1 } })).toThrow(
      "service b: port: ports 9001-9001 overlap a's 9000-9001",
    );
  });

  test('the top level must be an attribute set of services', () => {
    expect(() => validateServices([ok])).toThrow('service (all): (top level): must be an attribute set of services by name, got a list');
  });
});
