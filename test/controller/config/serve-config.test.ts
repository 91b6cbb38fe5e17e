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

  it('serve.mirror: the interval defaults to 2s, paths resolve, and the connection cap defaults high enough for a site of hosts', () => {
    const cfg = validateHostConfig({ ...base, serve: { listen: '0.0.0.0:8089', mirror: { webhookSecretFile: 'hook.secret', keys: [{ name: 'site-a', keyFile: 'site-a.key' }] } } }, '/etc/fail2git/config.yaml');
    expect(cfg.serve?.mirror).toEqual({ interval: '2s', webhookSecretFile: '/etc/fail2git/hook.secret', keys: [{ name: 'site-a', keyFile: '/etc/fail2git/site-a.key' }] });
    expect(cfg.serve?.maxConnections).toBe(2048);
    expect(validateHostConfig({ ...base, serve: { mirror: {}, maxConnections: 300 } }, '/etc/fail2git/config.yaml').serve?.maxConnections).toBe(300);
    expect(() => validateHostConfig({ ...base, serve: { mirror: { keys: [{ name: 'a' }] } } }, '/etc/fail2git/config.yaml')).toThrow(/"serve\.mirror\.keys" entry "a" needs exactly one of "keyFile" or "keySha256"/);
    expect(() => validateHostConfig({ ...base, serve: { mirror: { intervall: '1s' } } }, '/etc/fail2git/config.yaml')).toThrow(/unknown setting "serve\.mirror\.intervall"/);
  });

  it('wake: a mirror URL without credentials or path; key and CA files resolved against the config\'s directory', () => {
    const cfg = validateHostConfig({ ...base, wake: { url: 'https://mirror.site-a:8089/', keyFile: 'wake.key', caFile: 'mirror-ca.pem' } }, '/etc/fail2git/config.yaml');
    expect(cfg.wake).toEqual({ url: 'https://mirror.site-a:8089', keyFile: '/etc/fail2git/wake.key', caFile: '/etc/fail2git/mirror-ca.pem' });
    const bad = (wake: unknown) => () => validateHostConfig({ ...base, wake }, '/etc/fail2git/config.yaml');
    expect(bad({ url: 'https://user:pw@mirror:8089' })).toThrow(/^\/etc\/fail2git\/config\.yaml: "wake\.url" is not valid \(http\(s\):\/\/HOST\[:PORT\] without credentials or path\)$/);
    expect(bad({ url: 'git://mirror/ledger.git' })).toThrow(/"wake\.url" is not valid/);
    expect(bad({ keyFile: 'k' })).toThrow(/"wake\.url" is required/);
  });
});
