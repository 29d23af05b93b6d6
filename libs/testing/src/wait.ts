/**
 * Polls until `probe` returns a value that `accept` takes (default: any non-undefined value); fails with the
 * last seen value. For asynchronous pipelines: never a fixed sleep standing in for a condition.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; accept?: (v: T) => boolean } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50, accept = () => true } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last !== undefined && accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(
      last,
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    )}${lastError ? `; last error: ${(lastError as Error).message}` : ''}`,
  );
}
