/**
 * `work` run one at a time: a call while it runs asks for one more run after it, however many
 * calls came meanwhile, so the last change is always seen and runs never overlap. A failure is
 * given to `onError` and ends that round.
 */
export function serialRefresh(work: () => Promise<void>, onError: (error: unknown) => void): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await work();
      } while (again);
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
}
