// Waiting in tests: polls a condition (sync or async) until it holds, or fails naming what it
// waited for.
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000, stepMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
