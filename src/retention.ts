// A retention policy: keep at most `maxCount` items, none older than `maxAgeMs` (0: no age limit).
export interface Retention {
  maxCount: number;
  maxAgeMs: number;
}

// Items (oldest first) that the policy drops.
export function expired<T>(oldestFirst: T[], policy: Retention, timeOf: (item: T) => string, now = Date.now()): T[] {
  const excess = oldestFirst.length - policy.maxCount;
  return oldestFirst.filter((item, index) => index < excess || (policy.maxAgeMs > 0 && now - Date.parse(timeOf(item)) > policy.maxAgeMs));
}
