import { assert } from './assert';

/**
 * FENCE_INDEX_BITS is how many low bits of a fence token hold the Raft index of the granting
 * entry; the bits above hold the cluster's failover epoch (DESIGN.md invariant 7). 48 bits of
 * index leave 16 bits of epoch inside a uint64.
 */
export const FENCE_INDEX_BITS = 48;

/**
 * FENCE_INDEX_MAX is the highest Raft index a grant can carry in its fence (2^48 − 1, about 89
 * years of entries at 100,000 a second). The index never resets (not across epochs, restores or
 * recoveries), so this bounds a cluster's whole log: a grant at a higher index is refused with
 * FENCE_SPACE_EXHAUSTED, never wrapped into the epoch bits.
 */
export const FENCE_INDEX_MAX = 2 ** FENCE_INDEX_BITS - 1;

/**
 * FAILOVER_EPOCH_MAX is the highest failover epoch (2^16 − 1 = 65,535 promotions): every
 * promotion raises the epoch by at least one, and a promotion past this is refused.
 */
export const FAILOVER_EPOCH_MAX = 2 ** (64 - FENCE_INDEX_BITS) - 1;

const INDEX_BITS = BigInt(FENCE_INDEX_BITS);
const INDEX_MASK = (1n << INDEX_BITS) - 1n;

/**
 * fenceOf is the fence token a grant at Raft index `index` gets in failover epoch `epoch`:
 * `epoch · 2^48 + index`. Epoch 0 gives `BigInt(index)`, the fences of clusters that never had
 * a failover. The caller checks the bounds first (asserted here).
 */
export function fenceOf(epoch: number, index: number): bigint {
  assert(
    Number.isSafeInteger(epoch) && epoch >= 0 && epoch <= FAILOVER_EPOCH_MAX,
    () => `failover epoch(${epoch}) outside 0..${FAILOVER_EPOCH_MAX}`,
  );
  assert(
    Number.isSafeInteger(index) && index >= 1 && index <= FENCE_INDEX_MAX,
    () => `fence index(${index}) outside 1..${FENCE_INDEX_MAX}`,
  );
  return (BigInt(epoch) << INDEX_BITS) | BigInt(index);
}

/** epochOfFence is the failover epoch a fence token was granted in (its high 16 bits). */
export function epochOfFence(fenceToken: bigint): number {
  return Number(fenceToken >> INDEX_BITS);
}

/** indexOfFence is the Raft index of the entry that granted a fence token (its low 48 bits). */
export function indexOfFence(fenceToken: bigint): number {
  return Number(fenceToken & INDEX_MASK);
}
