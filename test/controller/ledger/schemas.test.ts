/**
 * The JSON Schemas compile under ajv strict mode, the committed precompiled validators
 * match them, and the example ledger documents are valid against them.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../helpers/git.js';

const schemas = readdirSync(join(REPO_ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json'));
const load = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', f), 'utf8')) as Record<string, unknown>;

describe('schemas/', () => {
  it('has one schema per kind and the host config', () => {
    expect(schemas.sort()).toEqual(['allowlist.schema.json', 'banlist.schema.json', 'config.schema.json', 'policy.schema.json', 'target.schema.json']);
  });

  for (const f of schemas) {
    it(`${f} compiles in ajv strict mode and rejects unknown fields`, () => {
      const ajv = new Ajv({ strict: true, allErrors: true });
      const validate = ajv.compile(load(f));
      expect(validate({ surprise: true })).toBe(false);
      expect(validate.errors?.some((e) => e.keyword === 'additionalProperties')).toBe(true);
    });
  }

  it('the committed controller/generated/validators.ts is up to date with the schemas', async () => {
    const { generate } = (await import(join(REPO_ROOT, 'scripts/gen-validators.mjs'))) as { generate: () => string };
    expect(readFileSync(join(REPO_ROOT, 'controller/generated/validators.ts'), 'utf8')).toBe(generate());
  });

  it('the example ledger documents validate against the schemas with plain ajv', () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    const byKind: Record<string, string> = { BanList: 'banlist', AllowList: 'allowlist', Policy: 'policy', Target: 'target' };
    let count = 0;
    for (const file of ['active', 'allow', 'policy', 'targets']) {
      for (const doc of parseAllDocuments(readFileSync(join(REPO_ROOT, 'bans', `${file}.yaml`), 'utf8'))) {
        const value = doc.toJS() as { kind: string };
        const validate = ajv.getSchema(byKind[value.kind]!) ?? ajv.addSchema(load(`${byKind[value.kind]}.schema.json`), byKind[value.kind]).getSchema(byKind[value.kind]!)!;
        expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(4);
  });
});
