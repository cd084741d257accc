import { createHash } from 'node:crypto';

/**
 * Whether a git index file (format: git's Documentation/gitformat-index) has an entry marked
 * assume-unchanged or skip-worktree, read straight from its bytes: `false` only when the whole file
 * was walked and its checksum matches; `undefined` whenever anything is unfamiliar (another version,
 * a split index, no checksum, a torn or odd file), so the caller asks git instead.
 */
export function indexHasHiddenEntries(bytes: Buffer): boolean | undefined {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'DIRC') return undefined;
  const version = bytes.readUInt32BE(4);
  if (version < 2 || version > 4) return undefined;
  for (const [algorithm, hashLength] of [['sha1', 20], ['sha256', 32]] as const) {
    const end = bytes.length - hashLength;
    if (end < 12 || !createHash(algorithm).update(bytes.subarray(0, end)).digest().equals(bytes.subarray(end))) continue;
    return walk(bytes, version, hashLength, end);
  }
  return undefined;
}

const ASSUME_VALID = 0x8000;
const EXTENDED = 0x4000;
const NAME_LENGTH = 0x0fff;
const SKIP_WORKTREE = 0x4000;
/** ctime, mtime (seconds and nanoseconds each), dev, ino, mode, uid, gid, size: 32-bit each. */
const STAT_BYTES = 40;

function walk(bytes: Buffer, version: number, hashLength: number, end: number): boolean | undefined {
  const count = bytes.readUInt32BE(8);
  let offset = 12;
  for (let entry = 0; entry < count; entry++) {
    const flagsAt = offset + STAT_BYTES + hashLength;
    if (flagsAt + 2 > end) return undefined;
    const flags = bytes.readUInt16BE(flagsAt);
    let nameAt = flagsAt + 2;
    if (flags & EXTENDED) {
      if (version < 3 || nameAt + 2 > end) return undefined;
      if (bytes.readUInt16BE(nameAt) & SKIP_WORKTREE) return true;
      nameAt += 2;
    }
    if (flags & ASSUME_VALID) return true;
    if (version === 4) {
      // The path is compressed against the previous one: a varint (bytes to drop), then the rest up to a NUL.
      while (nameAt < end && bytes[nameAt] & 0x80) nameAt++;
      const nul = bytes.indexOf(0, nameAt + 1);
      if (nul < 0 || nul >= end) return undefined;
      offset = nul + 1;
    } else {
      const stated = flags & NAME_LENGTH;
      const nameLength = stated < NAME_LENGTH ? stated : bytes.indexOf(0, nameAt) - nameAt;
      if (nameLength < 0) return undefined;
      // NUL-padded (1 to 8 bytes) to a multiple of 8 from the entry's start.
      offset += (nameAt - offset + nameLength + 8) & ~7;
      if (offset > end || bytes[nameAt + nameLength] !== 0) return undefined;
    }
  }
  // Extensions up to the checksum: a split index keeps entries (and their flags) in another file.
  while (offset + 8 <= end) {
    const signature = bytes.toString('latin1', offset, offset + 4);
    if (signature === 'link') return undefined;
    offset += 8 + bytes.readUInt32BE(offset + 4);
  }
  return offset === end ? false : undefined;
}
