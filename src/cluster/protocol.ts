/**
 * The messages a cluster primary and its workers exchange over the IPC channel. The
 * primary owns the script version: it boots each worker with the committed script
 * bytes, runs reloads in two phases (prepare everywhere, then commit everywhere, or
 * abort everywhere), and pushes the health results of the checks it runs once per
 * machine. It also orders the ACME certificates of the machine, for names workers ask
 * for, and tells them when one is stored.
 */

/** primary -> worker */
export type ToWorker =
  | { t: 'boot'; file: string; source: string; version: number; health: HealthUpdate[]; drained?: string[] }
  | { t: 'prepare'; id: number; source: string }
  | { t: 'commit'; id: number; version: number }
  | { t: 'abort'; id: number }
  | { t: 'health'; updates: HealthUpdate[] }
  /** the cluster admin listener: metrics (prom-client JSON) or status of one worker */
  | { t: 'ask'; id: number; q: 'metrics' | 'status' }
  /** the cluster admin listener: drain (or enable) a backend; the answer is its view, or null */
  | { t: 'drain'; id: number; name: string; drained: boolean }
  /** ACME: the primary stored a certificate for `name` (load it from the storage) */
  | { t: 'acme-stored'; name: string }
  /** ACME: the primary is done with this worker's request for `name` (stored, refused or failed) */
  | { t: 'acme-done'; name: string }
  | { t: 'shutdown' };

/** worker -> primary */
export type ToPrimary =
  | { t: 'hello' }
  | { t: 'ready'; pid: number; address: string; port: number; hash: string }
  /** `moved` of `compared` distinct recent hosts of this worker change destination, `failing` of `succeeded` recent successful requests would get 404 or 5xx (its dry run) */
  | { t: 'prepared'; id: number; ok: true; hash: string; moved: number; compared: number; failing: number; succeeded: number }
  | { t: 'prepared'; id: number; ok: false; error: string; code: string }
  | { t: 'committed'; id: number; ok: boolean; error?: string }
  | { t: 'answer'; id: number; data: unknown }
  /** ACME: a handshake here asks for `name`, which tls_allow allows and no certificate serves: the primary orders for the machine */
  | { t: 'acme-obtain'; name: string };

export interface HealthUpdate {
  name: string;
  healthy: boolean;
  detail: string;
}

/** script bytes travel base64-encoded (IPC is JSON) */
export function encodeSource(b: Buffer): string {
  return b.toString('base64');
}

export function decodeSource(s: string): Buffer {
  return Buffer.from(s, 'base64');
}

export function isToPrimary(m: unknown): m is ToPrimary {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
