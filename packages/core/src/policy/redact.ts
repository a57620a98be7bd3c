// The one redaction path: every secret the core learns (a URL's password, PGPASSWORD) is remembered here, and every
// piece of text that leaves Polymigrate (output, errors, reports, logs) goes through `redact`.

const secrets = new Set<string>();
const MASK = "***";

/** Remembers a secret so that {@link redact} removes it from any text, plain or percent-encoded. */
export function rememberSecret(secret: string | undefined): void {
  if (!secret || secret.length < 2) return;
  secrets.add(secret);
  try {
    const decoded = decodeURIComponent(secret);
    if (decoded.length >= 2) secrets.add(decoded);
  } catch {
    // a password with a stray '%' is not percent-encoded: the raw form is enough
  }
  secrets.add(encodeURIComponent(secret));
}

/** Removes every remembered secret, and the password of any URL, from `text`. */
export function redact(text: string): string {
  let result = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]*)@/gi, `$1${MASK}@`);
  result = result.replace(/(\bpassword\s*=\s*)('[^']*'|\S+)/gi, `$1${MASK}`);
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    result = result.split(secret).join(MASK);
  }
  return result;
}

/** Redacts every string inside a JSON-like value. */
export function redactValue<T>(value: T): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactValue(item)) as T;
  if (value instanceof Date) return value;
  if (value && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = redactValue(item);
    return result as T;
  }
  return value;
}

/** A URL for display: the password replaced by `***`, the rest kept. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    if (parsed.password) parsed.password = MASK;
    return parsed.toString().replace(`:${encodeURIComponent(MASK)}@`, `:${MASK}@`);
  } catch {
    return redact(String(url));
  }
}
