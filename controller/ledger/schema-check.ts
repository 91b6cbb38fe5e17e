/**
 * JSON Schema validation with the precompiled validators (scripts/gen-validators.mjs),
 * and ajv's errors turned into one-line, positioned problems a person can act on.
 */
import * as generated from '../generated/validators.js';
import { unprintableProblems } from './checks.js';
import type { Problem } from './types.js';
import type { LocatedDoc, PathSeg } from './located.js';

export interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  parentSchema?: { properties?: Record<string, unknown>; description?: string; enum?: unknown[] };
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

export type SchemaKind = 'BanList' | 'AllowList' | 'Policy' | 'Target' | 'HostConfig';

const VALIDATORS: Record<SchemaKind, Validator> = {
  BanList: generated.validateBanList as Validator,
  AllowList: generated.validateAllowList as Validator,
  Policy: generated.validatePolicy as Validator,
  Target: generated.validateTarget as Validator,
  HostConfig: generated.validateHostConfig as Validator,
};

function pathOf(instancePath: string): PathSeg[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function nameOf(path: readonly PathSeg[]): string {
  const field = [...path].reverse().find((s) => typeof s === 'string');
  const last = path[path.length - 1];
  // an item of a list is named as one: `item 3 of "bans"`, not the list itself
  if (typeof last === 'number') return field === undefined ? `item ${last + 1}` : `item ${last + 1} of "${field}"`;
  return field === undefined ? 'document' : `"${field}"`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (ArrayBuffer.isView(value)) return 'binary data';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${show(value)}`;
}

// What a valid value looks like, for fields whose rule is a pattern or a choice of types.
const HINTS: Record<string, string> = {
  defaultTtl: 'a duration like 30s, 15m, 1h, 7d',
  gcGrace: 'a duration like 30s, 15m, 1h, 7d',
  maxTtl: 'a duration like 30s, 15m, 1h, 7d',
  interval: 'a duration like 30s, 15m, 1h',
  maxRemovePerRun: 'a count, or a percentage from 0% to 100%',
  escalation: 'null, or {factor: N, maxTtl: DURATION}',
  gcHost: 'a plain host name',
  hosts: 'a host name pattern: letters, digits, . _ - and the globs * ? [ ] !',
  name: 'lower-case letters, digits and -, at most 63',
  url: 'https://host[:port][/path], without credentials',
  tokenId: 'USER@REALM!TOKENID',
  fingerprint: 'a SHA-256 fingerprint: 32 colon-separated hex pairs',
  path: 'an absolute path',
  tokenSecretFile: 'an absolute path',
  caFile: 'an absolute path',
  ipset: 'a Proxmox IPSet name: a letter, then letters, digits, - and _',
  setName: 'letters, digits, . _ -, at most 28 characters',
  table: 'a letter, then letters, digits, _ and -',
  proto: 'a route protocol number 5–255 or a name',
};

function describe(e: AjvError, path: readonly PathSeg[], kind: SchemaKind): string {
  const name = nameOf(path);
  const p = e.params;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(e.parentSchema?.properties ?? {}).join(', ');
      return `unknown field "${String(p.additionalProperty)}"${allowed ? ` (allowed: ${allowed})` : ''}`;
    }
    case 'required':
      return `missing required field "${String(p.missingProperty)}"`;
    case 'const':
      return path[0] === 'kind' && path.length === 1
        ? `kind must be "${String(p.allowedValue)}" here, got ${show(e.data)}`
        : `${name} must be ${show(p.allowedValue)}, got ${show(e.data)}`;
    case 'enum':
      return `${name} must be one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}; got ${show(e.data)}`;
    case 'type': {
      const t = String(p.type);
      const want = t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t === 'integer' ? 'an integer' : `a ${t}`;
      return `${name === 'document' ? `a ${kind} document` : name} must be ${want}, got ${typeName(e.data)}`;
    }
    case 'pattern':
    case 'anyOf': {
      const field = [...path].reverse().find((seg) => typeof seg === 'string');
      const hint = (field !== undefined ? HINTS[field] : undefined) ?? e.parentSchema?.description;
      return `${name}: ${show(e.data)} is not valid${hint ? ` (expected ${hint})` : ''}`;
    }
    case 'minimum':
    case 'maximum':
      return `${name} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}, got ${show(e.data)}`;
    case 'minLength':
      return Number(p.limit) === 1 ? `${name} must not be empty` : `${name} must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `${name} is longer than ${String(p.limit)} characters`;
    case 'minItems':
      return `${name} must list at least ${String(p.limit)} item(s)`;
    default:
      return `${name} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * ajv reports an `anyOf` failure once for the anyOf and once per branch. When one branch
 * has the value's type (an object for `escalation`, a string for `maxRemovePerRun`), its
 * own errors say what is wrong; otherwise the anyOf error (with the schema's description)
 * does. `if` errors are dropped: their `then` error says why.
 */
function relevantErrors(all: readonly AjvError[]): AjvError[] {
  const kept: AjvError[] = [];
  for (const e of all) {
    if (e.keyword === 'if') continue;
    const branch = /^(.*\/anyOf)\/\d+\//.exec(e.schemaPath);
    if (branch) {
      // inside a branch: keep only non-type errors of a branch whose type matched
      if (e.keyword !== 'type' && !all.some((t) => t.keyword === 'type' && t.instancePath === e.instancePath && t.schemaPath.startsWith(e.schemaPath.slice(0, e.schemaPath.indexOf('/', branch[1]!.length + 1))))) kept.push(e);
      continue;
    }
    if (e.keyword === 'anyOf' && all.some((b) => b.keyword !== 'type' && b.keyword !== 'anyOf' && b.schemaPath.startsWith(e.schemaPath + '/'))) continue;
    kept.push(e);
  }
  return kept;
}

/** Validates a document against its kind's schema; one positioned problem per finding. */
export function schemaProblems(kind: SchemaKind, doc: LocatedDoc, file: string): Problem[] {
  // Ledger strings are printed in reviews, tables and logs: none may carry a control character.
  const unprintable = kind === 'HostConfig' ? [] : unprintableProblems(doc, file);
  const validate = VALIDATORS[kind];
  if (validate(doc.value)) return unprintable;
  return [...unprintable, ...schemaErrorProblems(kind, doc, file, validate)];
}

function schemaErrorProblems(kind: SchemaKind, doc: LocatedDoc, file: string, validate: Validator): Problem[] {
  return relevantErrors(validate.errors ?? []).map((e) => {
    const path = pathOf(e.instancePath);
    const part = e.keyword === 'additionalProperties' ? 'key' : 'value';
    const at = e.keyword === 'additionalProperties' ? [...path, String(e.params.additionalProperty)] : path;
    const pos = doc.at(at, part);
    return { file, line: pos.line, col: pos.col, code: 'E_SCHEMA', message: describe(e, path, kind) };
  });
}

/** The raw ajv errors for a value (empty when valid), for callers with their own wording. */
export function schemaRawErrors(kind: SchemaKind, value: unknown): AjvError[] {
  const validate = VALIDATORS[kind];
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** Plain validation for values without positions. */
export function schemaErrors(kind: SchemaKind, value: unknown): string[] {
  const doc: LocatedDoc = { value, at: () => ({ line: 1, col: 1 }) };
  return schemaProblems(kind, doc, '').map((p) => p.message);
}
