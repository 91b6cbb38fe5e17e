/**
 * Shared by `reconcile`, `plan` and `status`: the host config (from ./_config.ts), the real
 * target factory, the signature check, and the human one-line summaries.
 */
import { ledgerClonePath, type HostConfig } from '../../controller/config/host-config.js';
import type { ReconcileDeps } from '../../controller/reconcile.js';

export { CONFIG_FLAGS, CONFIG_FLAGS_HELP, resolveHostConfig, type ConfigFlagValues } from './_config.js';

/** Targets come from the drivers' registry (lazy per driver: a broken driver fails alone). */
export { createTarget } from '../../controller/targets/index.js';

/** The signature and signer-role check when the host requires signed commits (adminSigners: who may change everything). */
export async function commitVerifier(cfg: HostConfig): Promise<ReconcileDeps['verifyCommit']> {
  if (!cfg.requireSignedCommits || !cfg.allowedSigners) return undefined;
  const { signatureVerifier } = await import('../../controller/git/signing.js');
  return signatureVerifier(ledgerClonePath(cfg), { allowedSigners: cfg.allowedSigners, adminSigners: cfg.adminSigners });
}

export const short = (rev: string | undefined): string => rev?.slice(0, 12) ?? 'none';
