import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, destroyAllNetns, kernelSkipReason } from './netns.js';

afterAll(destroyAllNetns);

const listNetns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

describe('kernel test gating', () => {
  it('never skips under CI=true, even with a tool missing (the test must fail instead)', () => {
    expect(kernelSkipReason(['no-such-tool-f2g'], { CI: 'true' })).toBeUndefined();
  });

  it('outside CI, names root, then the missing tool, as the reason to skip (whoever runs the test)', () => {
    expect(kernelSkipReason(['no-such-tool-f2g'], {}, 1000)).toBe('kernel tests need root (network namespaces)');
    expect(kernelSkipReason(['no-such-tool-f2g'], {}, 0)).toBe('kernel tests need no-such-tool-f2g (not installed)');
    expect(kernelSkipReason(['sh'], {}, 0)).toBeUndefined();
  });
});

describe.skipIf(kernelSkipReason(['ip']))('createNetns', () => {
  it('creates a unique namespace with loopback up, runs inside it, and removes it', async () => {
    const a = await createNetns('f2gh');
    const b = await createNetns('f2gh');
    expect(a.name).not.toBe(b.name);
    expect(listNetns()).toContain(a.name);
    const [lo] = JSON.parse((await a.run('ip', ['-j', 'link', 'show', 'lo'])).stdout) as { flags: string[] }[];
    expect(lo?.flags).toContain('UP');
    // a route added inside is not on the host
    await a.run('ip', ['route', 'add', 'blackhole', '203.0.113.99', 'proto', '250']);
    expect(execFileSync('ip', ['route', 'show', 'proto', '250'], { encoding: 'utf8' })).not.toContain('203.0.113.99');
    await a.destroy();
    await b.destroy();
    expect(listNetns()).not.toContain(a.name);
  });
});
