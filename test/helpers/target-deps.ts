/** TargetDeps for driver tests: a given runner, a logger that keeps events for assertions. */
import type { TargetDeps } from '../../controller/targets/types.js';
import type { Runner } from '../../controller/lib/exec.js';

export interface RecordingDeps extends TargetDeps {
  events: { level: string; event: string; fields?: Record<string, unknown> }[];
}

export function testDeps(run: Runner, now: () => Date = () => new Date()): RecordingDeps {
  const events: RecordingDeps['events'] = [];
  const rec = (level: string) => (event: string, fields?: Record<string, unknown>) => { events.push({ level, event, ...(fields ? { fields } : {}) }); };
  return { run, now, host: 'testhost', log: { info: rec('info'), warn: rec('warn'), error: rec('error') }, events };
}
