import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFile } from '../../../controller/targets/file.js';
import { notOurList, parseList, readList, renderChanged, renderList } from '../../../controller/targets/file-format.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { entry, observedKeys, reconcilePass, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';
import type { DesiredEntry, Plan } from '../../../controller/targets/types.js';

afterAll(cleanupTmp);

const deps = testDeps(async () => { throw new Error('the file driver runs no programs'); });

function fileTarget(path: string, format: 'txt' | 'json' = 'txt') {
  return createFile('alias', { path, format }, deps);
}

/** Foreign state: a neighbour file in the same directory, and the directory listing (no temp files left). */
function foreignFiles(dir: string, ours: string) {
  return {
    async seed() {
      writeFileSync(join(dir, 'other.txt'), '10.0.0.0/8\n# not ours\n');
    },
    async snapshot() {
      const names = readdirSync(dir).filter((n) => n !== ours).sort();
      return names.map((n) => `${n}:\n${readFileSync(join(dir, n), 'utf8')}`).join('\n');
    },
  };
}

interface FileFixture extends TargetFixture {
  path: string;
  format: 'txt' | 'json';
}

/** After the run: the file is exactly what the driver writes for what it holds. */
async function fileIsOurs({ path, format }: FileFixture): Promise<void> {
  const text = readFileSync(path, 'utf8');
  expect(renderList(parseList(text, format).entries, format)).toBe(text);
}

const FILE_STATES: StartingState<FileFixture>[] = [
  {
    name: 'wrong type: the other format where the list should be (JSON in a txt list, a txt list in a JSON one)',
    damage: async ({ path, format }) => writeFileSync(path, format === 'txt' ? '{"bans": [{"cidr": "198.51.100.7"}]}\n' : '198.51.100.7\n203.0.113.0/24\n'),
    refuses: /\(file\): refusing to read or replace \S+: (line 1 is not a CIDR|it is not JSON), so fail2git did not write it; move the file away or point the target at another path$/,
  },
  {
    name: 'wrong type: a directory at the path',
    damage: async ({ path }) => {
      rmSync(path, { force: true });
      mkdirSync(path);
    },
    refuses: /\(file\): \S+ is a directory, not a list; move it away or point option path at a file$/,
  },
  {
    name: 'half-applied: the list cut off mid-line by a writer that did not rename atomically',
    damage: async ({ path, format }) => {
      const text = readFileSync(path, 'utf8');
      // txt: three characters into the last line (no CIDR); json: half the document
      writeFileSync(path, format === 'txt' ? text.slice(0, text.lastIndexOf('\n', text.length - 2) + 4) : text.slice(0, text.length >> 1));
    },
    refuses: /\(file\): refusing to read or replace \S+: (line \d+ is not a CIDR|it is not JSON), so fail2git did not write it/,
  },
  {
    name: 'half-applied: entries right but the list rewritten by another tool (unsorted, duplicated, blank lines)',
    damage: async ({ path, format }) => {
      if (format === 'json') {
        writeFileSync(path, readFileSync(path, 'utf8').replace('{"bans": [', '{"bans":[').replace(/\n\]\}\n$/, ']}'));
      } else {
        writeFileSync(path, `\n${readFileSync(path, 'utf8').split('\n').filter(Boolean).reverse().join('\n')}\n198.51.100.7\n\n`);
      }
    },
    check: fileIsOurs,
  },
];

for (const format of ['txt', 'json'] as const) {
  testTarget(`file (${format})`, async (): Promise<FileFixture> => {
    const dir = tmpDir('f2g-file');
    const name = `bans.${format}`;
    const path = join(dir, name);
    return { path, format, target: fileTarget(path, format), foreign: foreignFiles(dir, name), cleanup: async () => undefined };
  }, { bulk: 5000, states: FILE_STATES });
}

describe('file formats', () => {
  it('writes txt as sorted canonical CIDRs, one per line, IPv4 first', () => {
    expect(renderList(['2001:db8::/48', '203.0.113.0/24', '10.0.0.1', '10.0.0.0/8'].map(entry), 'txt'))
      .toBe('10.0.0.0/8\n10.0.0.1\n203.0.113.0/24\n2001:db8::/48\n');
    expect(renderList([], 'txt')).toBe('');
  });

  it('writes json with the ledger metadata it was given', () => {
    const text = renderList([{ ...entry('198.51.100.7'), expires: '2026-11-22T09:00:00Z', by: 'web1', jail: 'sshd' }, entry('10.0.0.0/8')], 'json');
    expect(text).toBe('{"bans": [\n  {"cidr":"10.0.0.0/8"},\n  {"cidr":"198.51.100.7","expires":"2026-11-22T09:00:00Z","by":"web1","jail":"sshd"}\n]}\n');
    expect(JSON.parse(renderList([], 'json'))).toEqual({ bans: [] });
    expect(parseList(text, 'json').entries[1]).toEqual({ cidr: '198.51.100.7', family: 4, expires: '2026-11-22T09:00:00Z', by: 'web1', jail: 'sshd' });
  });

  it('reads what people write by hand: comments, blanks, non-canonical spellings; reports the rest', () => {
    const parsed = parseList('# header\n\n203.0.113.0/24  # botnet\n2001:DB8:0::1\nnot-an-ip\n', 'txt');
    expect(parsed.entries.map((e) => e.cidr)).toEqual(['203.0.113.0/24', '2001:db8::1']);
    expect(parsed.problems).toEqual(['line 5: "not-an-ip" is not a CIDR']);
  });
});

describe('file driver', () => {
  it('replaces the file atomically (new inode), keeps its mode, and leaves no temp files', async () => {
    const dir = tmpDir('f2g-file');
    const path = join(dir, 'list.txt');
    writeFileSync(path, '192.0.2.1\n');
    chmodSync(path, 0o640);
    const inode = statSync(path).ino;
    const target = fileTarget(path);
    await target.apply({ add: [entry('198.51.100.0/24')], remove: [] });
    expect(readFileSync(path, 'utf8')).toBe('192.0.2.1\n198.51.100.0/24\n');
    expect(statSync(path).ino).not.toBe(inode);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['list.txt']);
  });

  it('does not rewrite an unchanged list (a no-op run touches nothing)', async () => {
    const dir = tmpDir('f2g-file');
    const path = join(dir, 'list.json');
    const target = fileTarget(path, 'json');
    await target.apply({ add: [entry('192.0.2.1')], remove: [] });
    const before = statSync(path);
    await target.apply({ add: [entry('192.0.2.1')], remove: [] });
    await target.apply({ add: [], remove: [] });
    expect(statSync(path).ino).toBe(before.ino);
    expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
  });

  it('creates missing parent directories on first use, and observes a missing file as empty', async () => {
    const path = join(tmpDir('f2g-file'), 'www', 'html', 'fail2git.txt');
    const target = fileTarget(path);
    expect(await target.observe()).toEqual([]);
    await target.apply({ add: [entry('2001:db8::/48')], remove: [] });
    expect(readFileSync(path, 'utf8')).toBe('2001:db8::/48\n');
  });

  it('never reads or replaces a file holding anything but its list: one line, the file untouched', async () => {
    const dir = tmpDir('f2g-file');
    const cases: [string, string, 'txt' | 'json', RegExp][] = [
      ['passwd', 'root:x:0:0:root:/root:/bin/bash\n', 'txt', /line 1 is not a CIDR/],
      ['mixed.txt', '192.0.2.1\ngarbage\n', 'txt', /line 2 is not a CIDR/],
      ['commented.txt', '# someone else\'s list\n192.0.2.1\n', 'txt', /line 1 is not a CIDR/],
      ['config.json', '{"listen": 80}\n', 'json', /it has keys besides "bans" \(1\)/],
      ['broken.json', 'not json', 'json', /it is not JSON/],
    ];
    for (const [file, text, format, why] of cases) {
      const path = join(dir, file);
      writeFileSync(path, text);
      const target = fileTarget(path, format);
      const refusal = { code: 'E_TARGET_FOREIGN_FILE', target: 'alias', message: expect.stringMatching(new RegExp(`^target "alias" \\(file\\): refusing to read or replace .*${file}: ${why.source}, so fail2git did not write it; move the file away`)) };
      await expect(target.observe()).rejects.toMatchObject(refusal);
      await expect(target.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toMatchObject(refusal);
      expect(readFileSync(path, 'utf8')).toBe(text);
    }
    // The reason never quotes the file: it may hold anything.
    const err = (await fileTarget(join(dir, 'passwd')).observe().catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('root');
  });

  it('takes over a list it could have written: blank lines, any CIDR spelling, an empty file', async () => {
    const path = join(tmpDir('f2g-file'), 'list.txt');
    writeFileSync(path, '\n2001:DB8::1\n  192.0.2.1\n\n');
    const target = fileTarget(path);
    expect(await observedKeys(target)).toEqual(['192.0.2.1', '2001:db8::1']);
    await target.apply({ add: [], remove: [entry('192.0.2.1')] });
    expect(readFileSync(path, 'utf8')).toBe('2001:db8::1\n');
  });

  it('fails as one line naming the target when the path cannot be written', async () => {
    const dir = tmpDir('f2g-file');
    writeFileSync(join(dir, 'afile'), '');
    const target = fileTarget(join(dir, 'afile', 'list.txt'));
    await expect(target.apply({ add: [entry('192.0.2.1')], remove: [] })).rejects.toMatchObject({
      code: 'E_TARGET_IO', target: 'alias', message: expect.stringMatching(/^target "alias" \(file\): writing .*list\.txt failed: /),
    });
  });

  it('refuses a relative path or an unknown format', () => {
    expect(() => createFile('alias', { path: 'bans.txt' }, deps)).toThrow(/option path "bans.txt" must be an absolute file path/);
    expect(() => createFile('alias', { path: '/x', format: 'csv' }, deps)).toThrow(/option format must be one of txt, json/);
  });
});

describe('file repair', () => {
  it('rewrites a list whose entries are right but whose text is not the driver\'s (unsorted, duplicated, no final newline)', async () => {
    const path = join(tmpDir('f2g-file'), 'bans.txt');
    const t = fileTarget(path);
    await reconcilePass(t, ['192.0.2.1', '198.51.100.7']);
    writeFileSync(path, '\n198.51.100.7\n192.0.2.1\n192.0.2.1');
    expect(await observedKeys(t)).toEqual(['192.0.2.1', '198.51.100.7']);
    expect(t.needsRepair?.()).toBe(true);
    expect(await reconcilePass(t, ['192.0.2.1', '198.51.100.7'])).toEqual({ plan: { add: [], remove: [] }, repair: true });
    expect(readFileSync(path, 'utf8')).toBe('192.0.2.1\n198.51.100.7\n');
    expect(await reconcilePass(t, ['192.0.2.1', '198.51.100.7'])).toEqual({ plan: { add: [], remove: [] }, repair: false });
  });
});

describe('readList (one pass over a list)', () => {
  // What the driver computed before readList: three passes over the text.
  const separately = (text: string, format: 'txt' | 'json') => {
    const foreign = notOurList(text, format);
    if (foreign !== undefined) return { foreign, entries: [], canonical: false };
    const entries = [...new Map(parseList(text, format).entries.map((e) => [e.cidr, e])).values()];
    return { entries, canonical: renderList(entries, format) === text };
  };
  const texts = [
    '', ' ', '\n', '  \n', '192.0.2.1\n', '192.0.2.1', '192.0.2.1\n\n', '\n192.0.2.1\n', ' 192.0.2.1\n', '192.0.2.1 \n',
    '192.0.2.1\n198.51.100.0/24\n2001:db8::/48\n', '198.51.100.0/24\n192.0.2.1\n', '192.0.2.1\n192.0.2.1\n',
    '192.0.2.1/32\n', '2001:DB8::1\n', '10.0.0.0/8\n10.0.0.0/16\n10.0.0.1\n', '10.0.0.0/16\n10.0.0.0/8\n',
    '192.0.2.1\n# comment\n', '192.0.2.1 # botnet\n', 'garbage\n', '192.0.2.1\ngarbage', '10.0.0.1/24\n', '\t192.0.2.1\n',
  ];

  it('gives exactly what notOurList, parseList and renderList give, for canonical, hand-edited and foreign lists', () => {
    for (const text of texts) expect(readList(text, 'txt'), JSON.stringify(text)).toEqual(separately(text, 'txt'));
    const json = renderList([entry('10.0.0.0/8'), { ...entry('192.0.2.1'), by: 'web1' }], 'json');
    for (const text of [json, json.replace('\n]}', ']}'), '{"bans": []}\n', 'not json', '{"x": 1}']) {
      expect(readList(text, 'json'), JSON.stringify(text)).toEqual(separately(text, 'json'));
    }
  });

  it('reads a large list the driver wrote as canonical, and one moved entry as not', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const text = keys.map((k) => `${k}\n`).join('');
    expect(readList(text, 'txt')).toEqual(separately(text, 'txt'));
    expect(readList(text, 'txt').canonical).toBe(true);
    const moved = [...keys.slice(1, 1500), keys[0], ...keys.slice(1500)].map((k) => `${k}\n`).join('');
    expect(readList(moved, 'txt')).toEqual({ entries: separately(moved, 'txt').entries, canonical: false });
  });

  it('never answers from the last read once the file changed, even to the same length', async () => {
    const path = join(tmpDir('f2g-file'), 'list.txt');
    writeFileSync(path, '192.0.2.1\n192.0.2.2\n');
    const t = fileTarget(path);
    expect(await observedKeys(t)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(t.needsRepair?.()).toBe(false);
    writeFileSync(path, '192.0.2.2\n192.0.2.3\n');
    expect(await observedKeys(t)).toEqual(['192.0.2.2', '192.0.2.3']);
    writeFileSync(path, '192.0.2.3\n192.0.2.2\n');
    expect(await observedKeys(t)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(t.needsRepair?.()).toBe(true);
    // apply reads the file again: an edit between observe and apply is kept, not overwritten from memory
    writeFileSync(path, '192.0.2.3\n192.0.2.9\n');
    await t.apply({ add: [entry('192.0.2.4')], remove: [] });
    expect(readFileSync(path, 'utf8')).toBe('192.0.2.3\n192.0.2.4\n192.0.2.9\n');
    writeFileSync(path, 'garbage\n');
    await expect(t.observe()).rejects.toMatchObject({ code: 'E_TARGET_FOREIGN_FILE' });
  });
});

describe('renderChanged (a canonical list changed in place)', () => {
  // What apply computed before: the whole changed list, sorted again.
  const whole = (entries: DesiredEntry[], plan: Plan, format: 'txt' | 'json') => {
    const next = new Map(entries.map((e) => [e.cidr, e]));
    for (const e of plan.remove) next.delete(e.cidr);
    for (const e of plan.add) next.set(e.cidr, { ...next.get(e.cidr), ...e });
    return renderList([...next.values()], format);
  };

  it('writes exactly what sorting the whole changed list writes', () => {
    let seed = 5;
    const r = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const pool = [...Array.from({ length: 80 }, (_, i) => `10.${i % 3}.${i}.0/24`), '10.0.0.0/8', '10.0.0.0/16', '192.0.2.1', '2001:db8::/48', '2001:db8::1', '::ffff:0:0/112'];
    for (let t = 0; t < 300; t++) {
      const format = t % 2 === 0 ? 'txt' : 'json';
      const list = readList(renderList(pool.filter(() => r(3) === 0).map((k) => ({ ...entry(k), by: 'web1' })), format), format);
      expect(list.canonical).toBe(true);
      const plan: Plan = {
        remove: list.entries.filter(() => r(5) === 0),
        add: Array.from({ length: r(6) }, () => ({ ...entry(pool[r(pool.length)]!), jail: `j${r(3)}` })),
      };
      expect(renderChanged(list.entries, plan, format), `case ${t}`).toBe(whole(list.entries, plan, format));
    }
  });
});
