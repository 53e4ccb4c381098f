/** full (by hand, several minutes) or short (CI, LPX_RELIABILITY=short) run sizes */
export const SHORT = process.env.LPX_RELIABILITY === 'short';

export function pick<T>(short: T, full: T): T {
  return SHORT ? short : full;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** poll `cond` every 50 ms until it holds or `ms` passes; returns whether it held */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}
