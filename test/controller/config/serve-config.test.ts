import { describe, expect, it } from 'vitest';
import { validateHostConfig } from '../../../controller/config/validate.js';

const base = { remote: '/srv/ledger.git', host: 'web1', stateDir: '/var/lib/fail2git' };

describe('serve: in the host config', () => {
  it('fills the defaults and resolves key files against the config\'s directory', () => {
    const cfg = validateHostConfig({ ...base, serve: { bouncerKeys: [{ name: 'edge', keyFile: 'edge.key', expandRanges: 256 }] } }, '/etc/fail2git/config.yaml');
    expect(cfg.serve).toEqual({
      listen: '127.0.0.1:8089', bouncerKeys: [{ name: 'edge', keyFile: '/etc/fail2git/edge.key', expandRanges: 256 }], pageKeys: [], maxConnections: 64, fleetRefresh: '30s',
    });
  });

  it('refuses a key with both or neither of keyFile and keySha256, a name used twice, and unknown settings, in one line each', () => {
    const bad = (serve: unknown) => () => validateHostConfig({ ...base, serve }, '/etc/fail2git/config.yaml');
    expect(bad({ bouncerKeys: [{ name: 'edge' }] })).toThrow(/^\/etc\/fail2git\/config\.yaml: "serve\.bouncerKeys" entry "edge" needs exactly one of "keyFile" or "keySha256"$/);
    expect(bad({ pageKeys: [{ name: 'a', keyFile: 'x' }, { name: 'a', keySha256: 'a'.repeat(64) }] })).toThrow(/names "a" twice/);
    expect(bad({ lisen: '127.0.0.1:1' })).toThrow(/unknown setting "serve\.lisen"/);
    expect(bad({ listen: 'localhost' })).toThrow(/"serve\.listen" /);
  });
});
