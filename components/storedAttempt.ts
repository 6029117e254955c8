/**
 * The program's read of an unfinished attempt that another machine recorded in the backup store
 * (issue #16; the runner writes it, state/journal.ts StoredAttempt). Pulumi keeps the outputs of
 * the last successful update when one fails, so a failed attempt cannot travel in the stack's
 * outputs; the store, which every machine running the stack shares, carries it instead. Read
 * before any resource exists, with the plaintext SSH key for a `host` store (index.ts has it for
 * its world checks): the key reaches `ssh` only as the runner's 0600 key file, never argv.
 */
import { join } from "node:path";
import { withDefaults, type PlainSettings, type ResolvedConfig } from "./config/config";
import { backupSpec } from "./chain";
import { readAttempt } from "./runner/infra/store";
import { SSH_KEY_ENV } from "./runner/infra/ssh";
import { attemptObject, type StoredAttempt } from "./state/journal";

/**
 * The attempt record in the stack's backup store, if there is one. Undefined for the `local`
 * store and for settings the KongGateway will refuse anyway (it names them); a store that cannot
 * be read fails the run, naming the store and the object.
 */
export async function storedAttemptOf(
  settings: PlainSettings,
  at: { readonly root: string; readonly stack: string; readonly cluster: string },
  sshPrivateKey: string | undefined,
): Promise<StoredAttempt | undefined> {
  let cfg: ResolvedConfig;
  try {
    cfg = withDefaults(settings, at.root, at.stack, at.cluster);
  } catch {
    return undefined;
  }
  if (cfg.backup.store === "local" || (cfg.backup.store === "host" && !sshPrivateKey)) {
    return undefined;
  }
  if (sshPrivateKey) {
    process.env[SSH_KEY_ENV] = sshPrivateKey;
  }
  try {
    return await readAttempt(backupSpec(cfg), at.cluster, join(cfg.stateDir, "tmp"));
  } catch (e) {
    throw new Error(
      `kong-gateway:backup.store ${cfg.backup.store}: cannot read ${attemptObject(at.cluster)} (the record of an unfinished attempt) from the store: ${(e as Error).message}; make the store reachable from this machine (README: "Running from CI")`,
    );
  } finally {
    delete process.env[SSH_KEY_ENV];
  }
}
