import { createHash } from "node:crypto";

/** The SHA-256 hex of a text or bytes. */
export function sha256Hex(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Whether `content` matches a stored checksum, ignoring line endings: a file whose only change is CRLF against LF
 * (a Windows checkout, a Git `autocrlf` setting) is the same migration. The rule is tried in both directions.
 */
export function matchesChecksum(
  content: string,
  stored: string,
  checksum: (content: string) => string = sha256Hex,
): boolean {
  if (checksum(content) === stored) return true;
  const lf = content.replace(/\r\n/g, "\n");
  if (checksum(lf) === stored) return true;
  return checksum(lf.replace(/\n/g, "\r\n")) === stored;
}
