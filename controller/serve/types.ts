/** The types serve's parts pass between them. */
import type { Logger } from '../lib/log.js';

export interface PageRequest {
  query: URLSearchParams;
  now: Date;
}

export interface ServeRunDeps {
  log: Logger;
  now: () => Date;
}
