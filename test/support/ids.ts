/** Ids in a stable order, for comparing what arrived with what was expected. */
export const sorted = (ids: string[]) => [...ids].sort();

/** Every id after its first occurrence (an id delivered three times appears twice). */
export const duplicates = (ids: string[]) => {
  const seen = new Set<string>();
  return ids.filter((id) => {
    if (seen.has(id)) return true;
    seen.add(id);
    return false;
  });
};
