/**
 * The driver registry: driver name → factory. Each driver module is imported lazily, on
 * first use, so a driver that fails to load (a broken build, a missing optional module)
 * fails only the targets that use it; every other target still runs.
 */
import { TargetError, errorMessage } from '../lib/errors.js';
import type { DriverName, TargetDoc } from '../ledger/types.js';
import type { Target, TargetDeps, TargetFactory } from './types.js';
import { bindTargetToHost, type HostSinks } from './host-sinks.js';

const LOADERS: Record<DriverName, () => Promise<TargetFactory>> = {
  ipset: async () => (await import('./ipset.js')).createIpset,
  nftables: async () => (await import('./nftables.js')).createNftables,
  route: async () => (await import('./route.js')).createRoute,
  file: async () => (await import('./file.js')).createFile,
  'pve-clusterfw': async () => (await import('./pve-clusterfw.js')).createPveClusterFw,
  'pve-api': async () => (await import('./pve-api.js')).createPveApi,
};

export const DRIVER_NAMES = Object.keys(LOADERS) as DriverName[];

export function isDriverName(name: string): name is DriverName {
  return Object.hasOwn(LOADERS, name);
}

/** The factory for a driver; an unknown name is refused with the list of known ones. */
export async function loadDriver(target: string, driver: string): Promise<TargetFactory> {
  if (!isDriverName(driver)) {
    throw new TargetError(target, 'E_TARGET_DRIVER', `target ${JSON.stringify(target)}: unknown driver ${JSON.stringify(driver)} (known: ${DRIVER_NAMES.join(', ')})`);
  }
  try {
    return await LOADERS[driver]();
  } catch (err) {
    throw new TargetError(target, 'E_TARGET_DRIVER', `target ${JSON.stringify(target)}: driver ${driver} failed to load: ${errorMessage(err)}`, { cause: err });
  }
}

/** What building a target from the ledger needs: the drivers' deps and the host's sinks. */
export interface LedgerTargetDeps extends TargetDeps {
  /** which files, endpoints and tokens this host lets targets use (controller/targets/host-sinks.ts) */
  sinks: HostSinks;
}

/**
 * Builds the target a ledger `Target` document describes: its options are bound to what the
 * host allows first (a path outside writablePaths, an undeclared credential fail here), then
 * checked by the driver, once.
 */
export async function createTarget(doc: TargetDoc, deps: LedgerTargetDeps): Promise<Target> {
  const name = doc.metadata.name;
  const factory = await loadDriver(name, doc.spec.driver);
  return factory(name, await bindTargetToHost(doc, deps.sinks), deps);
}
