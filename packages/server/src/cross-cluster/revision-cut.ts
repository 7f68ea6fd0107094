import { MIRROR_CHANGES_MAX } from '@omnirelay/leadership-fsm';

/**
 * revisionCut returns where the mirror batch that starts at `start` of `items` (in revision order)
 * ends: after at most MIRROR_CHANGES_MAX items, never inside a revision, so a batch's `toRevision`
 * never claims half of one. A single revision with more items than the bound (an Expire of many
 * leases) goes whole.
 */
export function revisionCut(items: readonly { readonly revision: number }[], start: number): number {
  let end = Math.min(items.length, start + MIRROR_CHANGES_MAX);
  if (end >= items.length || items[end]!.revision !== items[end - 1]!.revision) return end;
  const split = items[end - 1]!.revision;
  let first = end - 1;
  while (first > start && items[first - 1]!.revision === split) first--;
  if (first > start) return first;
  while (end < items.length && items[end]!.revision === split) end++;
  return end;
}
