import { statSync } from 'node:fs';

/**
 * fileStamp is what tells a changed credential file (certificates, keys, a CA bundle, a tokens
 * file) from the one read last without reading it: size, modification time and inode, so a
 * replacement by rename is seen even within the same millisecond. It throws what statSync throws.
 */
export function fileStamp(path: string): string {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}:${s.ino}`;
}
