/**
 * The small kinds: AllowList, Policy and Target documents. They are short, hand-written
 * files, so they always go through the full YAML parser.
 */
import { parseDuration } from '../lib/duration.js';
import { DEFAULT_POLICY, LEDGER_FILES, type AllowEntry, type PolicySpec, type Problem, type TargetDoc } from './types.js';
import { checkLedgerText, type LedgerInput } from './text.js';
import { parseYaml } from './yaml-parse.js';
import { schemaProblems } from './schema-check.js';
import { ProblemSink, DuplicateTracker, checkCidr, isRecord } from './checks.js';
import type { LocatedDoc } from './located.js';

interface Docs {
  docs: LocatedDoc[];
  problems: Problem[];
}

export interface DocumentParseOptions {
  /** Read a file of any size (fmt); otherwise the full YAML parser's MAX_YAML_BYTES applies. */
  anySize?: boolean;
}

/** Decodes, checks and parses a file; `single` files may hold at most one document. */
function parseDocs(input: LedgerInput, file: string, single: boolean, options: DocumentParseOptions): Docs {
  const checked = checkLedgerText(input, file);
  if (checked.text === null) return { docs: [], problems: checked.problems };
  const parsed = parseYaml(checked.text, file, options.anySize ? { maxBytes: Infinity } : {});
  if (single && parsed.docs.length > 1) {
    const line = parsed.docs[1]!.at([]).line;
    parsed.problems.push({ file, line, col: 1, code: 'E_DOCUMENTS', message: 'this file holds exactly one YAML document' });
  }
  return parsed;
}

export function parseAllowList(input: LedgerInput, file: string = LEDGER_FILES.allow, options: DocumentParseOptions = {}): { allow: AllowEntry[]; problems: Problem[] } {
  const { docs, problems } = parseDocs(input, file, true, options);
  const doc = docs[0];
  if (!doc || problems.length > 0) return { allow: [], problems };
  const sink = new ProblemSink(file, doc);
  for (const p of schemaProblems('AllowList', doc, file)) sink.problems.push(p); // (may be many: no spread)
  const allow: AllowEntry[] = [];
  const list = isRecord(doc.value) ? doc.value.allow : undefined;
  if (Array.isArray(list)) {
    const dups = new DuplicateTracker(sink, (i) => ['allow', i, 'cidr']);
    list.forEach((raw, i) => {
      if (!isRecord(raw)) return;
      const c = checkCidr(sink, ['allow', i], 'cidr', raw.cidr);
      if (!c) return;
      dups.check(c.key, i);
      allow.push(typeof raw.reason === 'string' ? { cidr: c.key, reason: raw.reason } : { cidr: c.key });
    });
  }
  return { allow, problems: sink.problems };
}

/** The policy with defaults filled in; absent file or keys take DEFAULT_POLICY. */
export function parsePolicy(input: LedgerInput, file: string = LEDGER_FILES.policy, options: DocumentParseOptions = {}): { policy: PolicySpec; problems: Problem[] } {
  const { docs, problems } = parseDocs(input, file, true, options);
  const policy: PolicySpec = structuredClone(DEFAULT_POLICY);
  const doc = docs[0];
  if (!doc || problems.length > 0) return { policy, problems };
  const schema = schemaProblems('Policy', doc, file);
  if (schema.length > 0) return { policy, problems: schema };
  const spec = (doc.value as { spec?: Partial<PolicySpec> }).spec ?? {};
  Object.assign(policy, spec);
  const sink = new ProblemSink(file, doc);
  // The schema pattern admits `0s`; a zero TTL would ban nothing, so say so.
  if (spec.defaultTtl !== undefined && parseDuration(spec.defaultTtl) === 0) {
    sink.add(['spec', 'defaultTtl'], 'E_POLICY', '"defaultTtl" must be longer than 0s');
  }
  return { policy, problems: sink.problems };
}

// A glob: the schema limits characters; here brackets must pair up.
function globProblem(glob: string): string | undefined {
  let open = false;
  for (const c of glob) {
    if (c === '[') {
      if (open) return `"${glob}": nested "[" in host pattern`;
      open = true;
    } else if (c === ']') {
      if (!open) return `"${glob}": "]" without "[" in host pattern`;
      open = false;
    }
  }
  return open ? `"${glob}": unclosed "[" in host pattern` : undefined;
}

export function parseTargets(input: LedgerInput, file: string = LEDGER_FILES.targets, options: DocumentParseOptions = {}): { targets: TargetDoc[]; problems: Problem[] } {
  const { docs, problems } = parseDocs(input, file, false, options);
  const targets: TargetDoc[] = [];
  const names = new Map<string, number>();
  for (const doc of docs) {
    const sink = new ProblemSink(file, doc);
    const schema = schemaProblems('Target', doc, file);
    for (const p of schema) sink.problems.push(p);
    const t = doc.value as TargetDoc;
    if (schema.length === 0) {
      t.spec.hosts?.forEach((g, i) => {
        const why = globProblem(g);
        if (why) sink.add(['spec', 'hosts', i], 'E_HOST_GLOB', why);
      });
      const seen = names.get(t.metadata.name);
      if (seen !== undefined) sink.add(['metadata', 'name'], 'E_DUPLICATE', `target name "${t.metadata.name}" is used twice (first at line ${seen})`);
      else names.set(t.metadata.name, doc.at(['metadata', 'name']).line);
      if (sink.problems.length === 0) targets.push(t);
    }
    for (const p of sink.problems) problems.push(p);
  }
  return { targets, problems };
}
