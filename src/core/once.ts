/**
 * `make` run at the first call only, every call answered with its promise (a failure is kept too): a
 * client built at first use, with the vendor library it needs loaded then (`await import(…)`), so that
 * a process holds only the libraries of the collectors and destinations it runs (README, Performance).
 */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
