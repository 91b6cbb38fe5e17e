import { describe, expect, it } from 'vitest';
import { isMarker, markerComment, ownedEntries, findManaged, spliceManaged } from '../../../../controller/targets/pve/managed-set.js';
import { networkOf } from '../../../../controller/net/cidr.js';
import { splitFw } from '../../../../controller/targets/pve/fw-text.js';
import { parseClusterFw } from '../../../helpers/pve-emulator.js';

describe('markerComment', () => {
  it('says who banned and until when, on one line', () => {
    expect(markerComment({ cidr: '1.2.3.4', family: 4, jail: 'sshd', by: 'web1', expires: '2026-11-25T12:00:00Z' }, 'h'))
      .toBe('fail2git sshd@web1 until 2026-11-25T12:00:00Z');
    expect(markerComment({ cidr: '1.2.3.4', family: 4 }, 'pve1')).toBe('fail2git manual@pve1 permanent');
  });

  it('cannot inject lines, a second comment or separators (Proxmox writes comments verbatim)', () => {
    const c = markerComment({ cidr: '1.2.3.4', family: 4, jail: 'x\n[OPTIONS]\nenable: 0', by: 'a # b' }, 'h');
    expect(c).not.toMatch(/[\n\r#[\]]/);
    expect(c.startsWith('fail2git x_')).toBe(true);
  });
});

describe('isMarker and networkOf', () => {
  it.each([['fail2git sshd@web1 permanent', true], ['fail2git', true], ['fail2git-like', false], ['not fail2git', false], [undefined, false]])('%j → %j', (c, owned) => {
    expect(isMarker(c)).toBe(owned);
  });

  it('masks host bits the way the kernel stores them, and refuses aliases and junk', () => {
    expect(networkOf('127.0.0.1/8')?.key).toBe('127.0.0.0/8');
    expect(networkOf('2001:DB8::1')?.key).toBe('2001:db8::1');
    expect(networkOf('dc/admin')).toBeUndefined();
    expect(networkOf('10.0.0.0/33')).toBeUndefined();
  });
});

describe('ownedEntries', () => {
  it('reports marked members once, with the stored spelling where it differs', () => {
    const doc = splitFw('[IPSET s]\n10.0.0.1 # fail2git a\n10.0.0.1 # fail2git dup\n2001:DB8::1 # fail2git b\n!10.0.0.2 # fail2git nomatch\n10.0.0.3 # by hand\n');
    expect(ownedEntries(doc, findManaged(doc, 's', 'p', 't'))).toEqual([
      { cidr: '10.0.0.1', family: 4 },
      { cidr: '2001:db8::1', family: 6, raw: '2001:DB8::1' },
    ]);
  });
});

describe('spliceManaged', () => {
  const add = (cidr: string) => ({ cidr, family: (cidr.includes(':') ? 6 : 4) as 4 | 6, comment: 'fail2git t@h permanent' });

  it('adds after the last member, removes only marked lines, keeps comment lines and foreign members', () => {
    const text = '[IPSET s]\n\n10.0.0.3 # by hand\n10.0.0.1 # fail2git old\n# note\n\n[RULES]\n';
    const out = spliceManaged(text, 's', { add: [add('10.0.0.9'), add('10.0.0.5')], remove: [{ cidr: '10.0.0.1', family: 4 }] }, 'p', 't');
    expect(out).toMatchObject({ added: 2, removed: 1 });
    expect(out.text).toBe('[IPSET s]\n\n10.0.0.3 # by hand\n10.0.0.5 # fail2git t@h permanent\n10.0.0.9 # fail2git t@h permanent\n# note\n\n[RULES]\n');
  });

  it('never removes a foreign member of the same address', () => {
    const text = '[IPSET s]\n10.0.0.1 # by hand\n';
    expect(spliceManaged(text, 's', { add: [], remove: [{ cidr: '10.0.0.1', family: 4 }] }, 'p', 't').text).toBe(text);
  });

  it('writes what Proxmox parses back to exactly the intended members', () => {
    const out = spliceManaged('[OPTIONS]\nenable: 1', 's', { add: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'].map(add), remove: [] }, 'p', 't');
    expect(out.text).toBe('[OPTIONS]\nenable: 1\n\n[IPSET s] # fail2git managed bans\n\n10.0.0.0/8 # fail2git t@h permanent\n192.0.2.1 # fail2git t@h permanent\n2001:db8::/32 # fail2git t@h permanent\n');
    const conf = parseClusterFw(out.text);
    expect(conf.options.get('enable')).toBe('1');
    expect(conf.ipsets.get('s')?.entries.map((e) => e.cidr)).toEqual(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
  });

  it('creates the section in an empty file', () => {
    expect(spliceManaged('', 's', { add: [add('10.0.0.1')], remove: [] }, 'p', 't').text).toBe('[IPSET s] # fail2git managed bans\n\n10.0.0.1 # fail2git t@h permanent\n');
  });
});
