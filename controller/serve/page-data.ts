/** The fleet page's data (filled in below). */
import type { HostConfig, ServeConfig } from '../config/host-config.js';
import type { ServedSetReader } from './served-set.js';
import type { PageRequest, ServeRunDeps } from './types.js';

export function pageRenderer(_cfg: HostConfig, _serve: ServeConfig, _served: ServedSetReader, _deps: ServeRunDeps): (req: PageRequest) => Promise<string> {
  return async () => '<!doctype html><title>fail2git</title>';
}
