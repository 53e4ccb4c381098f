/**
 * Two-phase reload across the workers of a cluster: every participant loads and
 * validates the new script (prepare) and reports the hash of what it loaded; only when
 * all of them succeeded with the hash the primary expects does anyone switch (commit).
 * Otherwise everyone drops what it prepared (abort), and the old version keeps serving
 * everywhere. Kept free of IPC so the protocol can be tested with plain objects.
 */

/** a participant's dry run: `moved` of `compared` distinct recent hosts change destination; `failing` of `succeeded` recent successful requests would get 404 or 5xx */
export type PrepareResult = { ok: true; hash: string; moved: number; compared: number; failing?: number; succeeded?: number } | { ok: false; error: string };

export interface Participant {
  readonly label: string;
  prepare(): Promise<PrepareResult>;
  commit(): Promise<void>;
  abort(): void;
}

export type Outcome =
  | { ok: true; committed: string[]; failedCommits: Array<{ label: string; error: string }>; moved: number; compared: number; failing: number; succeeded: number }
  | { ok: false; error: string; code?: string };

/** the sum of the participants' dry runs; `admit` may refuse it (throw) before anyone commits: the blast-radius guard */
export type Admit = (sum: { moved: number; compared: number; failing: number; succeeded: number }) => void;

export async function twoPhase(parts: readonly Participant[], expectHash: string, timeoutMs: number, admit?: Admit): Promise<Outcome> {
  if (parts.length === 0) return { ok: false, error: 'no running worker to reload' };
  const results = await Promise.all(parts.map((p) => withTimeout(p.prepare(), timeoutMs, `${p.label} did not finish loading the script within ${timeoutMs} ms`)));
  const problems: string[] = [];
  results.forEach((r, i) => {
    if (!r.ok) problems.push(`${parts[i].label}: ${r.error}`);
    else if (r.hash !== expectHash) problems.push(`${parts[i].label} loaded version ${r.hash}, expected ${expectHash} (the files changed during the reload)`);
  });
  if (problems.length) {
    for (const p of parts) p.abort();
    return { ok: false, error: problems.join('; ') };
  }
  // every worker saw its own share of the traffic: the cluster's share is the sum
  let moved = 0;
  let compared = 0;
  let failing = 0;
  let succeeded = 0;
  for (const r of results) if (r.ok) { moved += r.moved; compared += r.compared; failing += r.failing ?? 0; succeeded += r.succeeded ?? 0; }
  try {
    admit?.({ moved, compared, failing, succeeded });
  } catch (e) {
    for (const p of parts) p.abort();
    return { ok: false, error: (e as Error).message, code: (e as { code?: string }).code };
  }
  const committed: string[] = [];
  const failedCommits: Array<{ label: string; error: string }> = [];
  await Promise.all(parts.map(async (p) => {
    const r = await withTimeout(p.commit(), timeoutMs, `${p.label} did not confirm the switch within ${timeoutMs} ms`);
    if (isFailure(r)) failedCommits.push({ label: p.label, error: r.error });
    else committed.push(p.label);
  }));
  return { ok: true, committed, failedCommits, moved, compared, failing, succeeded };
}

function isFailure(r: unknown): r is { ok: false; error: string } {
  return typeof r === 'object' && r !== null && (r as { ok?: unknown }).ok === false;
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; error: string }>((resolve) => { timer = setTimeout(() => resolve({ ok: false, error: message }), ms); });
  try {
    return await Promise.race([p.catch((e: Error) => ({ ok: false as const, error: e.message })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
