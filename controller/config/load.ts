/**
 * The one host config reader. `loadHostConfig(path)` checks the file against
 * schemas/config.schema.json (./validate.ts, loaded only then); `{ cheap: true }` is the
 * hook's mode: it first tries ./flat-reader.ts (a flat `key: value` file with plainly valid
 * settings, no YAML parser, no schema validators) and takes the full check for anything else.
 * Either way the defaults come from `settingsToHostConfig` (./host-config.ts).
 */
import { parseFlatConfig, plainlyValid } from './flat-reader.js';
import { readConfigText, settingsToHostConfig, type HostConfig } from './host-config.js';

export interface LoadOptions {
  /** the hook's mode: read a flat, plainly valid file without loading the YAML parser or the schema validators */
  cheap?: boolean;
}

/** Loads and checks the host config; every message about a bad config comes from ./validate.ts. */
export async function loadHostConfig(path: string, opts: LoadOptions = {}): Promise<HostConfig> {
  const text = readConfigText(path);
  if (opts.cheap) {
    const flat = parseFlatConfig(text);
    if (flat && plainlyValid(flat)) return settingsToHostConfig(flat, path);
  }
  const { parseHostConfigText } = await import('./validate.js');
  return parseHostConfigText(text, path);
}

