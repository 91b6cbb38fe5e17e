import { describe, expect, it } from 'vitest';
import { blocksUnder, EXAMPLE_REMOTE, execStart, fencedBlocks, readReadme, sandboxed, sectionText } from './readme-blocks.js';

const MD = [
  '## Install', 'intro', '```sh', 'cp x /usr/local/lib/', '# a comment, not a heading', '```',
  '### 1. A ledger', 'text', '```sh', 'fail2git init ./ledger', '```', '```ini', '[DEFAULT]', '```',
  '### 2. Next (more words)', '```sh', 'echo two', '```', '## Other', '```sh', 'echo other', '```', '',
].join('\n');

describe('sectionText / fencedBlocks / blocksUnder', () => {
  it('a section is its own text up to the next heading; `#` inside a fence is not a heading', () => {
    const own = sectionText(MD, '## Install');
    expect(own).toContain('# a comment, not a heading');
    expect(own).not.toContain('fail2git init');
  });

  it('matches a heading by its start and returns the blocks in order with their language', () => {
    expect(fencedBlocks(sectionText(MD, '### 1. A ledger'))).toEqual([
      { lang: 'sh', code: 'fail2git init ./ledger\n' },
      { lang: 'ini', code: '[DEFAULT]\n' },
    ]);
    expect(blocksUnder(MD, '### 2. Next', 'sh')).toEqual(['echo two\n']);
  });

  it('a missing heading or block is an error, so a README that lost a step fails the test', () => {
    expect(() => sectionText(MD, '### 9. Gone')).toThrow(/no heading/);
    expect(() => blocksUnder(MD, '### 2. Next', 'ini')).toThrow(/no ```ini block/);
  });

  it('the real README has a block for every install path', () => {
    const readme = readReadme();
    for (const h of ['## Install', '### 1. A ledger repository', '### 2. A fail2ban host', '### 3. An enforcing host']) {
      expect(blocksUnder(readme, h, 'sh').length).toBeGreaterThan(0);
    }
  });
});

describe('sandboxed', () => {
  const root = '/tmp/sb/root';

  it('moves the four host prefixes under the root, wherever a path starts', () => {
    const text = [
      "mkdir -p /usr/local/lib/fail2git && cp -r dist/bundle/. /usr/local/lib/fail2git/",
      "printf '#!/bin/sh\\nexec node /usr/local/lib/fail2git/fail2git.mjs \"$@\"\\n' > /usr/local/bin/fail2git",
      'action = fail2git[config=/etc/fail2git/config.yaml]',
      'stateDir: /var/lib/fail2git',
      'options: {path: /var/www/html/fail2git.txt}',
      'see `/etc/pve/firewall/cluster.fw`',
    ].join('\n');
    expect(sandboxed(text, root, '/tmp/sb/ledger.git')).toBe([
      `mkdir -p ${root}/usr/local/lib/fail2git && cp -r dist/bundle/. ${root}/usr/local/lib/fail2git/`,
      `printf '#!/bin/sh\\nexec node ${root}/usr/local/lib/fail2git/fail2git.mjs "$@"\\n' > ${root}/usr/local/bin/fail2git`,
      `action = fail2git[config=${root}/etc/fail2git/config.yaml]`,
      `stateDir: ${root}/var/lib/fail2git`,
      `options: {path: ${root}/var/www/html/fail2git.txt}`,
      `see \`${root}/etc/pve/firewall/cluster.fw\``,
    ].join('\n'));
  });

  it('leaves other paths alone, never rewrites twice, and swaps the example remote', () => {
    expect(sandboxed('/bin/sh /usr/bin/node /var/log/x hooks/etc/y', root, '/r.git')).toBe('/bin/sh /usr/bin/node /var/log/x hooks/etc/y');
    const once = sandboxed('cat /etc/a', root, '/r.git');
    expect(sandboxed(once, root, '/r.git')).toBe(once);
    expect(sandboxed(`remote: ${EXAMPLE_REMOTE}\n--remote ${EXAMPLE_REMOTE}`, root, '/tmp/sb/ledger.git'))
      .toBe('remote: /tmp/sb/ledger.git\n--remote /tmp/sb/ledger.git');
  });
});

describe('execStart', () => {
  it('splits the unit\'s ExecStart line into argv', () => {
    expect(execStart('[Service]\nType=exec\nExecStart=/usr/local/bin/fail2git reconcile --watch --config /etc/fail2git/config.yaml\n'))
      .toEqual(['/usr/local/bin/fail2git', 'reconcile', '--watch', '--config', '/etc/fail2git/config.yaml']);
    expect(() => execStart('[Service]\n')).toThrow(/ExecStart/);
  });
});
