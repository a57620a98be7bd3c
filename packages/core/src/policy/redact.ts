// The one redaction path: every piece of text that leaves Polymigrate (output, errors, reports, the ledger) goes
// through `redact`, and every URL shown goes through `redactUrl`. Redaction works by structure first (the password
// field of a URL, `password=` parameters), and masks a remembered secret's bare text only when that text cannot be
// part of an ordinary word, so that a password such as `postgres` or `books` never eats `postgresql://` or a
// migration id.
import { formatDatabaseUrl, parseDatabaseUrl, type DatabaseUrl } from "../db/database-url.js";

const secrets = new Set<string>();
const MASK = "***";

const URL_START = /\b[a-z][a-z0-9+.-]*:\/\//gi;
// Where a URL written in running text ends: whitespace, a double quote (JSON), an angle bracket or a backtick. Not a
// single quote: passwords contain them, and a quoted URL ends at the space after it anyway.
const URL_END = /[\s"`<>]/;
const HOST_LIST = /^[a-z0-9._~%\-[\]:,]*$/i;
const QUERY_PASSWORD = /([?&](?:pg|ssl)?password=)[^&#\s"'`<>]*/gi;
const KEYWORD_PASSWORD = /(?<![?&\w])((?:pg|ssl)?password(?:\s*=\s*|:\s+))('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)/gi;
const JSON_PASSWORD = /("(?:pg|ssl)?password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/**
 * Whether a secret is distinctive enough that its bare text can be masked anywhere without damaging ordinary words:
 * 20 characters or more; or 12 or more mixing two kinds of character; or 8 or more mixing three (lower case, upper
 * case, digits, symbols other than the word joiners `_`, `-` and `.`). `postgres`, `books`, `secret_password` are
 * not: they are masked where they stand in a URL's password field or a `password=` parameter, never as bare words.
 */
function isDistinctive(secret: string): boolean {
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9_.-]/].filter((kind) => kind.test(secret)).length;
  return secret.length >= 20 || (secret.length >= 12 && kinds >= 2) || (secret.length >= 8 && kinds >= 3);
}

/**
 * Remembers a secret so that {@link redact} masks its bare text (plain or percent-encoded) wherever it appears, even
 * inside a longer word, when it is distinctive: 20 characters or more, 12 or more of two kinds, or 8 or more of three
 * kinds (kinds: lower case, upper case, digits, symbols other than `_`, `-`, `.`). A secret that is not (`postgres`,
 * `books`) could be an ordinary word, so its bare text is left alone; it is still masked, like any password,
 * remembered or not, in a URL's password field and in `password=` parameters.
 */
export function rememberSecret(secret: string | undefined): void {
  if (!secret || !isDistinctive(secret)) return;
  secrets.add(secret);
  try {
    secrets.add(decodeURIComponent(secret));
  } catch {
    // a password with a stray '%' is not percent-encoded: the raw form is enough
  }
  secrets.add(encodeURIComponent(secret));
}

/**
 * The `@` that ends a URL's user information: the last one followed by something shaped like a host list, so that
 * a password with unencoded `@`, `/`, `?` or `#` is masked whole. An `@` inside a query value therefore masks more
 * than the password: safety before readability.
 */
function findUserinfoEnd(token: string): number {
  for (let at = token.lastIndexOf("@"); at !== -1; at = at === 0 ? -1 : token.lastIndexOf("@", at - 1)) {
    const follower = token.slice(at + 1).split(/[/?#]/)[0] ?? "";
    if (HOST_LIST.test(follower)) return at;
  }
  return -1;
}

function maskUrlPasswords(text: string): string {
  const starts = [...text.matchAll(URL_START)].map((match) => ({ at: match.index, length: match[0].length }));
  let result = "";
  let copied = 0;
  let scanned = 0;
  for (const start of starts) {
    // A scheme inside the previous URL (a password such as "x://y") is part of that URL, not a new one.
    if (start.at < scanned) continue;
    const from = start.at + start.length;
    let end = from;
    while (end < text.length && !URL_END.test(text[end]!)) end++;
    scanned = end;
    const token = text.slice(from, end);
    const at = findUserinfoEnd(token);
    const colon = at === -1 ? -1 : token.slice(0, at).indexOf(":");
    if (colon === -1 || colon + 1 === at) continue;
    result += text.slice(copied, from + colon + 1) + MASK;
    copied = from + at;
  }
  return result + text.slice(copied);
}

/**
 * Masks the secrets in `text`: the password field of every URL (whatever its scheme, remembered or not, unencoded
 * reserved characters included), every `password=` / `PGPASSWORD=` / `"password": "..."` value, and the bare text
 * of every remembered distinctive secret (see {@link rememberSecret}).
 */
export function redact(text: string): string {
  let result = maskUrlPasswords(text);
  result = result.replace(QUERY_PASSWORD, `$1${MASK}`);
  result = result.replace(JSON_PASSWORD, `$1"${MASK}"`);
  result = result.replace(KEYWORD_PASSWORD, `$1${MASK}`);
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

/**
 * A URL for display: a PostgreSQL URL is rebuilt from the parts node-postgres reads (so it names the host and port
 * really used) with its password shown as `***`; any other text is passed through {@link redact}.
 */
export function redactUrl(url: string | URL | DatabaseUrl): string {
  if (typeof url === "object" && "endpoints" in url) return redact(formatDatabaseUrl(url));
  let display: string;
  try {
    display = formatDatabaseUrl(parseDatabaseUrl(String(url)));
  } catch {
    display = String(url);
  }
  return redact(display);
}
