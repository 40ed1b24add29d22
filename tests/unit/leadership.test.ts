/**
 * The leadership checker (harness/consistency/leadership.ts) on hand-written
 * histories: a safe failover passes; a deposed leader writing after its
 * lease ran out, a write by a node that did not hold the term, overlapping
 * terms, a write nobody logged and a logged write the store lacks each fail,
 * naming what happened.
 */
import { describe, expect, it } from 'vitest';
import { type LeadershipHistory, checkLeadership } from '../../harness/consistency/leadership.js';
import { parseLeadershipLine } from '../../services/deployer/src/leadership-log.js';
import { eventsFromJournal, historyFromWatch } from '../../stacks/reference/deployer/leadership.js';

/**
 * A watch from revision 1 as Debian's etcd 3.4 JSON gateway streamed it (curl -N): node01's leader key (lease bound,
 * revision 2), a status write (3), the key deleted when the lease ran out (4), the marker (5).
 */
const WATCH = [
  '{"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"},"created":true}}',
  '{"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"},"events":[{"kv":{"key":"L3VsdHJhY2xvdWQvZGVwbG95ZXIvbGVhZGVy","create_revision":"2","mod_revision":"2","version":"1","value":"eyJuYW1lIjoibm9kZTAxIn0=","lease":"2324035866010697221"}},{"kv":{"key":"L3VsdHJhY2xvdWQvZGVwbG95ZXIvc3RhdHVz","create_revision":"3","mod_revision":"3","version":"1","value":"eA=="}},{"type":"DELETE","kv":{"key":"L3VsdHJhY2xvdWQvZGVwbG95ZXIvbGVhZGVy","mod_revision":"4"}},{"kv":{"key":"L3VsdHJhY2xvdWQvZmF1bHRzL20=","create_revision":"5","mod_revision":"5","version":"1","value":"eA=="}}]}}',
];

const A = '/ultracloud/deployer/assign/node04/web-0';
const B = '/ultracloud/deployer/assign/node05/web-0';
const S = '/ultracloud/deployer/status';

/** node01 leads (term 100) until its lease runs out at 120; node02 leads from 121; each writes twice. */
function safe(): LeadershipHistory {
  return {
    from: 105,
    to: 140,
    terms: [
      { term: 100, holder: 'node01', lease: '11', ended: 120 },
      { term: 121, holder: 'node02', lease: '22' },
    ],
    writes: [
      { revision: 110, key: A, type: 'put' },
      { revision: 110, key: S, type: 'put' },
      { revision: 118, key: A, type: 'delete' },
      { revision: 125, key: B, type: 'put' },
      { revision: 130, key: S, type: 'put' },
    ],
    actions: [
      { node: 'node01', term: 100, lease: '11', revision: 102, keys: [S] },
      { node: 'node01', term: 100, lease: '11', revision: 110, keys: [A, S] },
      { node: 'node01', term: 100, lease: '11', revision: 118, keys: [A] },
      { node: 'node02', term: 121, lease: '22', revision: 125, keys: [B] },
      { node: 'node02', term: 121, lease: '22', revision: 130, keys: [S] },
    ],
    fenced: [],
    unknown: [],
  };
}

describe('leadership checker', () => {
  it('passes a failover where each leader acts only inside its own term (actions before the run are not judged)', () => {
    const c = checkLeadership(safe());
    expect(c.violations).toEqual([]);
    expect(c).toMatchObject({ ok: true, newTerms: 1, actions: 4, writes: 5, perTerm: ['node01@100: 2', 'node02@121: 2'] });
  });

  it("fails a deposed leader's write after its lease ran out, naming the term that led then", () => {
    const h = safe();
    h.writes.push({ revision: 127, key: A, type: 'put' });
    h.actions.push({ node: 'node01', term: 100, lease: '11', revision: 127, keys: [A] });
    const c = checkLeadership(h);
    expect(c.ok).toBe(false);
    expect(c.violations).toEqual([
      `node01's write at revision 127 (${A}) in term 100: outside the term, node01's term 100 (lease 11, ended at 120): its leader key (and lease) was gone`,
      `node01's write at revision 127 (${A}) in term 100: at that revision node02's term 121 (lease 22, still held) led`,
    ]);
  });

  it('fails a write logged under a term its node did not hold', () => {
    const h = safe();
    h.actions[3] = { ...h.actions[3], node: 'node03' };
    expect(checkLeadership(h).violations).toEqual([`node03's write at revision 125 (${B}) in term 121: the term was node02's term 121 (lease 22, still held), not node03's with lease 22`]);
  });

  it('fails terms that overlap: a second leader key while the first was held', () => {
    const h = safe();
    h.terms[0].ended = 123;
    expect(checkLeadership(h).violations).toEqual(["two leaders at once: node02's term 121 (lease 22, still held) began while node01's term 100 (lease 11, ended at 123) was held"]);
  });

  it('fails a leader write in the store that no deployer logged, and a logged write the store lacks', () => {
    const h = safe();
    h.writes.push({ revision: 133, key: B, type: 'delete' });
    h.actions.push({ node: 'node02', term: 121, lease: '22', revision: 135, keys: [A] });
    expect(checkLeadership(h).violations).toEqual([
      "node02 logged a write at revision 135 the store's history does not have",
      `a leader write no deployer logged: delete ${B} at revision 133 (in node02's term 121 (lease 22, still held))`,
    ]);
  });

  it('lets an unanswered write of the live term claim a store write of its key, and only of its own term', () => {
    const h = safe();
    h.writes.push({ revision: 128, key: B, type: 'delete' });
    h.unknown.push({ node: 'node02', term: 121, lease: '22', keys: [B] });
    expect(checkLeadership(h).violations).toEqual([]);
    h.unknown[0] = { node: 'node01', term: 100, lease: '11', keys: [B] };
    expect(checkLeadership(h).violations).toEqual([`delete ${B} at revision 128 (in node02's term 121 (lease 22, still held)) matches only unanswered writes of other terms: node01@100`]);
  });

  it("fails a write at an action's revision to a key the action did not log", () => {
    const h = safe();
    h.writes.push({ revision: 125, key: A, type: 'delete' });
    expect(checkLeadership(h).violations).toEqual([`delete ${A} at revision 125 is not among the keys node02 logged for that write`]);
  });

  it("reads the deployer's journal lines, and refuses a malformed one", () => {
    expect(parseLeadershipLine('leadership {"event":"act","term":121,"lease":"7587869913398432771","revision":125,"keys":["k"]}')).toEqual({
      event: 'act',
      term: 121,
      lease: '7587869913398432771',
      revision: 125,
      keys: ['k'],
    });
    expect(parseLeadershipLine('leading (leader key revision 121)')).toBeUndefined();
    expect(() => parseLeadershipLine('leadership {"event":"act","term":121,"lease":"22"}')).toThrow(/not a leadership event/);
    expect(() => parseLeadershipLine('leadership {"event":"lead","term":121,"lease":7587869913398432000}')).toThrow(/not a leadership event/);
  });

  it("reads terms and leader writes from etcd's watch stream: a lease-bound key is a term until its delete", () => {
    expect(historyFromWatch(WATCH, { revision: 0, atS: 0 })).toEqual({
      terms: [{ term: 2, holder: 'node01', lease: '2324035866010697221', ended: 4 }],
      writes: [{ revision: 3, key: '/ultracloud/deployer/status', type: 'put' }],
    });
    // A term held when the run began is ended by the delete too.
    const held = { term: 1, holder: 'node02', lease: '9' };
    expect(historyFromWatch([WATCH[0]], { revision: 1, atS: 0, term: held }).terms).toEqual([held]);
    expect(() => historyFromWatch(['{"error":{"grpc_code":11,"message":"mvcc: required revision has been compacted"}}'], { revision: 0, atS: 0 })).toThrow(/watch answered with an error/);
  });

  it("keeps only the leadership lines of a deployer's journal", () => {
    const journal = 'deployer node01 up: HTTP 0.0.0.0:8070\nleading (leader key revision 2)\nleadership {"event":"lead","term":2,"lease":"23"}\nassign node04/web-0 active\nleadership {"event":"act","term":2,"lease":"23","revision":3,"keys":["k"]}\n';
    expect(eventsFromJournal(journal).map((e) => e.event)).toEqual(['lead', 'act']);
  });
});
