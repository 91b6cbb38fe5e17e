/**
 * Network namespaces for kernel tests. Every test that touches ipset, nftables or routes
 * does so inside its own namespace, never on the host's own firewall or routing tables.
 *
 * Skipping is allowed only outside CI: under CI=true a missing tool or a failing
 * `ip netns add` fails the test, so a broken runner cannot pass by skipping everything.
 */
import { execFileSync } from 'node:child_process';
import { execRunner, type Runner } from '../../controller/lib/exec.js';
import { uniqueName } from './tmp.js';

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export const IN_CI = inCi();

const KERNEL_TOOLS = ['ip', 'ipset', 'nft', 'iptables', 'ip6tables'] as const;

function hasTool(tool: string): boolean {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why kernel tests cannot run here, or undefined when they can (or must: under CI this is
 * always undefined, so the tests run and fail loudly instead of skipping).
 */
export function kernelSkipReason(tools: readonly string[] = KERNEL_TOOLS, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string | undefined {
  if (inCi(env)) return undefined;
  if (uid !== 0) return 'kernel tests need root (network namespaces)';
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length > 0) return `kernel tests need ${missing.join(', ')} (not installed)`;
  return undefined;
}

/** A runner that executes every program inside a network namespace. */
export function netnsRunner(netns: string, inner: Runner = execRunner): Runner {
  return (cmd, args, opts) => inner('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}

export interface Netns {
  readonly name: string;
  /** runs every program inside the namespace */
  readonly run: Runner;
  destroy(): Promise<void>;
}

const live = new Set<string>();

/** A fresh namespace with loopback up. Destroy it in afterEach/afterAll (or call destroyAllNetns). */
export async function createNetns(prefix = 'f2g'): Promise<Netns> {
  // netns names become files under /run/netns; keep them short and unique per test.
  const name = uniqueName(`${prefix}-`, 8);
  await execRunner('ip', ['netns', 'add', name]);
  live.add(name);
  const run = netnsRunner(name);
  await run('ip', ['link', 'set', 'lo', 'up']);
  return {
    name,
    run,
    destroy: () => destroyNetns(name),
  };
}

export async function destroyNetns(name: string): Promise<void> {
  if (!live.has(name)) return;
  live.delete(name);
  await execRunner('ip', ['netns', 'delete', name]).catch(() => undefined);
}

/** Removes every namespace this test file created (a safety net for afterAll). */
export async function destroyAllNetns(): Promise<void> {
  await Promise.all([...live].map((n) => destroyNetns(n)));
}

// A tiny TCP probe run by node inside the namespace: listen on `dst`, connect from `src`.
// A DROP rule on INPUT swallows the SYN, so the connect times out; prints "open" or "blocked".
const PROBE = `
const net = require('node:net');
const [src, dst] = process.argv.slice(1);
const srv = net.createServer((s) => s.end()).listen(0, dst, () => {
  const c = net.connect({ host: dst, port: srv.address().port, localAddress: src });
  const done = (r) => { console.log(r); c.destroy(); srv.close(); process.exit(0); };
  c.setTimeout(700, () => done('blocked'));
  c.on('connect', () => done('open'));
  c.on('error', () => done('blocked'));
});`;

/** Whether a TCP connection from `src` to `dst` (both local to the namespace) gets through. */
export async function tcpReaches(ns: Netns, src: string, dst: string): Promise<boolean> {
  const { stdout } = await ns.run(process.execPath, ['-e', PROBE, src, dst]);
  return stdout.trim() === 'open';
}
