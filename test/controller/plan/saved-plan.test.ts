import { describe, expect, it } from 'vitest';
import { parseSavedPlan, planMismatch, savedPlanOf } from '../../../controller/plan/saved-plan.js';

const e = (cidr: string) => ({ cidr, family: cidr.includes(':') ? (6 as const) : (4 as const) });
const COMMIT = 'a'.repeat(40);

describe('saved plans', () => {
  it('round-trips: what plan --out writes, reconcile --plan reads', () => {
    const saved = savedPlanOf('gw1', COMMIT, new Date('2026-12-03T10:00:00.123Z'), [{ name: 'kernel', plan: { add: [e('203.0.113.9'), e('192.0.2.200')], remove: [e('198.51.100.1')] } }]);
    expect(saved).toEqual({ version: 1, host: 'gw1', commit: COMMIT, created: '2026-12-03T10:00:00Z', targets: { kernel: { add: ['192.0.2.200', '203.0.113.9'], remove: ['198.51.100.1'] } } });
    expect(parseSavedPlan(JSON.stringify(saved), 'p.json')).toEqual(saved);
  });

  it('a plan matches only the same additions and removals, in any order', () => {
    const saved = { add: ['192.0.2.200', '203.0.113.9'], remove: ['198.51.100.1'] };
    expect(planMismatch(saved, { add: [e('203.0.113.9'), e('192.0.2.200')], remove: [e('198.51.100.1')] })).toBeUndefined();
    expect(planMismatch(saved, { add: [e('203.0.113.9')], remove: [e('198.51.100.1')] })).toBe('it would now add 1 and remove 1, the saved plan 2 and 1');
    expect(planMismatch(saved, { add: [e('203.0.113.9'), e('192.0.2.201')], remove: [e('198.51.100.1')] })).toBeDefined();
    // A target the saved plan did not list must have nothing to do.
    expect(planMismatch(undefined, { add: [], remove: [] })).toBeUndefined();
    expect(planMismatch(undefined, { add: [e('203.0.113.9')], remove: [] })).toBeDefined();
  });

  it('refuses anything that is not a saved plan, in one line naming the file', () => {
    for (const text of ['not json', '[]', '{"version": 2}', `{"version": 1, "host": "gw1", "commit": "abc", "targets": {}}`,
      `{"version": 1, "host": "gw1", "commit": "${COMMIT}", "targets": {"k": {"add": [1], "remove": []}}}`]) {
      expect(() => parseSavedPlan(text, 'p.json')).toThrow(/^p\.json: not a saved plan \(.+\); make one with fail2git plan --out FILE$/);
    }
  });
});
