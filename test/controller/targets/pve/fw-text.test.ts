import { describe, expect, it } from 'vitest';
import { assertPlainLf, firewallEnabled, ipsetReferenced, parseAliases, parseHeader, parseIpsetLine, splitFw } from '../../../../controller/targets/pve/fw-text.js';

describe('parseHeader follows the Perl parser (whole trimmed line, case-insensitive)', () => {
  it.each([
    ['[OPTIONS]', { kind: 'options' }],
    ['[options]', { kind: 'options' }],
    ['  [RULES]\t', { kind: 'rules' }],
    ['[IPSET fail2ban]', { kind: 'ipset', name: 'fail2ban' }],
    ['[ipset Fail2ban]', { kind: 'ipset', name: 'fail2ban' }],
    ['[IPSET x1] # a comment', { kind: 'ipset', name: 'x1', comment: 'a comment' }],
    ['[GROUP g1]', { kind: 'group', name: 'g1' }],
    ['[group g1] # c', { kind: 'group', name: 'g1', comment: 'c' }],
  ])('%j is a header', (line, header) => expect(parseHeader(line)).toEqual(header));

  it.each([
    '[OPTIONS]\r', // CRLF: \r is not trimmed, so this is not a header in Proxmox either
    '[OPTIONS] # note',
    '[IPSET x]trailing',
    '\uFEFF[OPTIONS]',
    '[FOO]',
    '# [RULES]',
    '10.0.0.1',
  ])('%j is not a header', (line) => expect(parseHeader(line)).toBeUndefined());
});

describe('parseIpsetLine', () => {
  it.each([
    ['10.0.0.1', { nomatch: false, token: '10.0.0.1' }],
    ['192.168.0.1 #mycomment', { nomatch: false, token: '192.168.0.1', comment: 'mycomment' }],
    ['! 10.0.0.0/8  #nomatch - needs kernel 3.7 or newer', { nomatch: true, token: '10.0.0.0/8', comment: 'nomatch - needs kernel 3.7 or newer' }],
    ['!dc/net', { nomatch: true, token: 'dc/net' }],
    ['1.2.3.4#x', { nomatch: false, token: '1.2.3.4', comment: 'x' }],
    ['192.168.0.1 ', { nomatch: false, token: '192.168.0.1' }],
  ])('%j', (line, parsed) => expect(parseIpsetLine(line)).toEqual(parsed));

  it.each(['', '   ', '# a comment line'])('%j is no member', (line) => expect(parseIpsetLine(line)).toBeUndefined());
});

describe('splitFw keeps every byte', () => {
  it.each(['', '[OPTIONS]\nenable: 1', '[OPTIONS]\nenable: 1\n', '\n\n[RULES]\n\n'])('%j joins back identically', (text) => {
    expect(splitFw(text).lines.join('\n')).toBe(text);
  });

  it('splits sections at headers, with lines before the first header in no section', () => {
    const doc = splitFw('# top\n[OPTIONS]\nenable: 1\n[IPSET a]\n1.2.3.4\n[RULES]\nIN DROP\n');
    expect(doc.sections.map((s) => [s.header.kind, s.start, s.end])).toEqual([['options', 1, 3], ['ipset', 3, 5], ['rules', 5, 8]]);
  });
});

describe('what Proxmox would read', () => {
  it('firewallEnabled takes the last enable: in [OPTIONS]', () => {
    expect(firewallEnabled(splitFw('[OPTIONS]\nenable: 1\n'))).toBe(true);
    expect(firewallEnabled(splitFw('[OPTIONS]\nenable: 1\nenable: 0\n'))).toBe(false);
    expect(firewallEnabled(splitFw('[OPTIONS]\npolicy_in: DROP\n'))).toBe(false);
    expect(firewallEnabled(splitFw('[RULES]\nenable: 1\n'))).toBe(false);
  });

  it('ipsetReferenced finds +name and +dc/name in rules and groups only', () => {
    expect(ipsetReferenced(splitFw('[RULES]\nIN DROP -source +dc/fail2ban\n'), 'fail2ban')).toBe(true);
    expect(ipsetReferenced(splitFw('[group g]\nIN DROP -source +fail2ban -log nolog\n'), 'fail2ban')).toBe(true);
    expect(ipsetReferenced(splitFw('[RULES]\nIN DROP -source +dc/fail2ban2\n'), 'fail2ban')).toBe(false);
    expect(ipsetReferenced(splitFw('[IPSET x]\n+dc/fail2ban\n'), 'fail2ban')).toBe(false);
  });

  it('parseAliases lower-cases names', () => {
    expect([...parseAliases(splitFw('[ALIASES]\nAdmin 192.0.2.1 # c\nlocal_network 10.0.0.0/24\n'))]).toEqual([['admin', '192.0.2.1'], ['local_network', '10.0.0.0/24']]);
  });

  it('assertPlainLf names the line of the first carriage return, and refuses a BOM', () => {
    expect(() => assertPlainLf('[OPTIONS]\nenable: 1\r\n', '/x/cluster.fw', 't')).toThrow(/^\/x\/cluster\.fw:2: .*CRLF/);
    expect(() => assertPlainLf('\uFEFF[OPTIONS]\n', '/x/cluster.fw', 't')).toThrow(/byte-order mark/);
    expect(() => assertPlainLf('[OPTIONS]\n', '/x/cluster.fw', 't')).not.toThrow();
  });
});
