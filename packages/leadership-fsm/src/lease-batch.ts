import type { LeaseRef } from './commands';
import { LEASE_REF_OVERHEAD_BYTES } from './limits';
import { utf8ByteLength } from './text';

/**
 * leaseRefBytesMax returns at least the number of bytes `lease` adds to the lease list of an
 * encoded Renew or Expire command (LEASE_REF_OVERHEAD_BYTES plus its scope name in UTF-8), so a
 * batch whose leases sum to at most LEASE_BATCH_BYTES_MAX fits one command.
 */
export function leaseRefBytesMax(lease: LeaseRef): number {
  return LEASE_REF_OVERHEAD_BYTES + utf8ByteLength(lease.scope);
}

/** leaseListBytesMax returns the sum of leaseRefBytesMax over `leases`. */
export function leaseListBytesMax(leases: readonly LeaseRef[]): number {
  let bytes = 0;
  for (const lease of leases) bytes += leaseRefBytesMax(lease);
  return bytes;
}
