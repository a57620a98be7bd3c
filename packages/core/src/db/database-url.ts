// The one model of a PostgreSQL URL: the one node-postgres connects with. `pg` hands its connection string to
// `pg-connection-string`, so this module asks the same parser and reads the result the way `pg` does (query
// parameters override the authority, an empty host means PGHOST or localhost, an empty port PGPORT or 5432).
import { parse } from "pg-connection-string";
import { MigrateError } from "../model/errors.js";

/** One place the client connects to: a TCP host and port, or a Unix socket directory and the port in its file name. */
export interface DatabaseEndpoint {
  /** A host name, an IP address (IPv6 without brackets), or a socket directory starting with `/`. */
  host: string;
  port: number;
  isSocket: boolean;
}

/** A PostgreSQL URL as node-postgres reads it. */
export interface DatabaseUrl {
  /** Every host of the URL, with the port that goes with it; node-postgres itself uses the first. */
  endpoints: DatabaseEndpoint[];
  user?: string;
  password?: string;
  database?: string;
  /** The other query parameters (sslmode, pgbouncer, options...), in the order written. */
  parameters: Array<[string, string]>;
}

/** Options of {@link parseDatabaseUrl}. */
export interface ParseDatabaseUrlOptions {
  /** The variable the URL came from, for messages. */
  variable?: string;
  /** Where PGHOST and PGPORT are read when the URL has no host or port; default `process.env`, as node-postgres does. */
  env?: Record<string, string | undefined>;
}

const ENCODE_HINT =
  'Percent-encode the reserved characters of the user name and password ("@" as %40, "/" as %2F, "?" as %3F, "#" as %23, "%" as %25), e.g. with encodeURIComponent() in JavaScript or urllib.parse.quote(value, safe="") in Python.';

// Parameters that make pg-connection-string read certificate files or print a deprecation warning while parsing;
// none of them changes where the client connects or as whom.
const FILE_PARAMETERS = new Set(["sslcert", "sslkey", "sslrootcert", "sslmode", "uselibpqcompat"]);
const CONNECTION_PARAMETERS = new Set(["host", "port", "user", "password"]);

function refuse(variable: string | undefined, problem: string, reason: string): never {
  const where = variable ? `The URL in "${variable}"` : "The database URL";
  throw new MigrateError(
    "URL_INVALID",
    `${where} cannot be read unambiguously: ${problem}, so node-postgres (which migrate connects with) and libpq would not read the host, database and password that were meant. ${ENCODE_HINT}`,
    { details: { ...(variable ? { variable } : {}), reason } },
  );
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return `\u0000${text}`;
  }
}

/** The user information, host list and database of a URL as libpq's `conninfo_uri_parse_options` splits it. */
function splitAsLibpq(rest: string): { userinfo?: string; hosts: string; database?: string } {
  const stop = rest.search(/[@/]/);
  const hasUserinfo = stop !== -1 && rest[stop] === "@";
  const afterUserinfo = hasUserinfo ? rest.slice(stop + 1) : rest;
  const hostsEnd = afterUserinfo.search(/[/?]/);
  const hosts = hostsEnd === -1 ? afterUserinfo : afterUserinfo.slice(0, hostsEnd);
  const tail = hostsEnd === -1 ? "" : afterUserinfo.slice(hostsEnd);
  const database = tail.startsWith("/") ? tail.slice(1).split("?")[0] : undefined;
  return {
    ...(hasUserinfo ? { userinfo: rest.slice(0, stop) } : {}),
    hosts,
    ...(database !== undefined ? { database } : {}),
  };
}

/**
 * Refuses a URL whose user name or password carries unencoded reserved characters: node-postgres (WHATWG URL rules,
 * the last `@` of the authority) and libpq (the first `@` or `/`) split such a URL differently, or both put the rest
 * of the password into the database name. Either way the host, database or password is not the one meant, and the
 * misplaced part of the password would be printed.
 */
function checkUnambiguous(value: string, variable: string | undefined): void {
  if (/%(?![0-9a-f]{2})/i.test(value)) refuse(variable, 'a "%" is not followed by two hexadecimal digits', "bad-percent");
  const rest = value.slice(value.indexOf("://") + 3);
  const libpq = splitAsLibpq(rest);
  // One "@" may stand unencoded: the one that ends the user name and password. Any other, in the password, the
  // host, the database or a query value (written %40 there: node-postgres and libpq decode it), means a reserved
  // character ended the password early.
  const ats = rest.split("@").length - 1;
  if (ats > 1 || (ats === 1 && libpq.userinfo === undefined)) {
    refuse(variable, 'it has an "@" that does not end the user name and password (an unencoded "@", "/", "?" or "#" in the password?)', "stray-at");
  }
  let whatwg: URL;
  try {
    // pg-connection-string's own preparation of a URL with spaces, before it asks the WHATWG parser
    whatwg = new URL(value.includes(" ") ? encodeURI(value).replace(/%25(\d\d)/g, "%$1") : value);
  } catch {
    return;
  }
  const colon = libpq.userinfo?.indexOf(":") ?? -1;
  const libpqUser = libpq.userinfo === undefined ? "" : colon === -1 ? libpq.userinfo : libpq.userinfo.slice(0, colon);
  const libpqPassword = colon === -1 || libpq.userinfo === undefined ? "" : libpq.userinfo.slice(colon + 1);
  const isSameHost = libpq.hosts.startsWith("[") || decode(libpq.hosts).toLowerCase() === decode(whatwg.host).toLowerCase();
  const isSame =
    decode(libpqUser) === decode(whatwg.username) &&
    decode(libpqPassword) === decode(whatwg.password) &&
    isSameHost &&
    decode(libpq.database ?? "") === decode(whatwg.pathname.slice(1)) &&
    whatwg.hash === "";
  if (!isSame) {
    refuse(variable, 'node-postgres and libpq split it into different parts (an unencoded "@", "/", "?" or "#" in the password?)', "split-differs");
  }
}

function withoutFileParameters(value: string): string {
  const questionAt = value.indexOf("?");
  if (questionAt === -1) return value;
  const kept = value
    .slice(questionAt + 1)
    .split("&")
    .filter((pair) => !FILE_PARAMETERS.has(decodeURIComponent(pair.split("=")[0] ?? "").toLowerCase()));
  return kept.length > 0 ? `${value.slice(0, questionAt)}?${kept.join("&")}` : value.slice(0, questionAt);
}

function splitList(value: string | null | undefined): string[] {
  return (value ?? "").split(",").map((item) => item.trim());
}

/**
 * Parses a `postgresql://` URL exactly as node-postgres will connect with it, or refuses it (`URL_INVALID`, exit 2)
 * when it is not a PostgreSQL URL or when its user name or password carries unencoded reserved characters. No
 * message ever repeats the URL.
 *
 * @example
 * parseDatabaseUrl("postgresql://u:p@db:5432/app?host=other").endpoints; // [{ host: "other", port: 5432, isSocket: false }]
 */
export function parseDatabaseUrl(value: string, options: ParseDatabaseUrlOptions = {}): DatabaseUrl {
  const { variable } = options;
  const env = options.env ?? process.env;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new MigrateError(
      "URL_INVALID",
      `The value of ${variable ? `"${variable}"` : "the database URL"} is not a URL. Set it to a PostgreSQL URL such as postgresql://user:password@host:5432/database.`,
      { details: { ...(variable ? { variable } : {}) }, cause: new Error("invalid URL (value withheld)") },
    );
  }
  if (scheme !== "postgres" && scheme !== "postgresql") {
    throw new MigrateError(
      "URL_INVALID",
      `The URL in ${variable ? `"${variable}"` : "the configuration"} uses "${scheme}:", not "postgresql:". Polymigrate migrates PostgreSQL only; set it to a postgresql:// URL.`,
      { details: { ...(variable ? { variable } : {}), protocol: `${scheme}:` } },
    );
  }
  checkUnambiguous(value, variable);
  let config: ReturnType<typeof parse>;
  try {
    config = parse(withoutFileParameters(value));
  } catch {
    throw new MigrateError(
      "URL_INVALID",
      `The value of ${variable ? `"${variable}"` : "the database URL"} is not a URL node-postgres can read (node-postgres connects to one host: "h1:5432,h2:5432" is not supported). Set it to a PostgreSQL URL such as postgresql://user:password@host:5432/database. ${ENCODE_HINT}`,
      { details: { ...(variable ? { variable } : {}) }, cause: new Error("invalid URL (value withheld)") },
    );
  }
  const hosts = splitList(config.host).map((host) => host || env.PGHOST || "localhost");
  const ports = splitList(config.port).map((port) => port || env.PGPORT || "5432");
  const endpoints = hosts.map((host, index) => {
    const text = ports.length === 1 ? ports[0]! : (ports[index] ?? ports[0]!);
    const port = Number(text);
    if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
      throw new MigrateError(
        "URL_INVALID",
        `The port of the URL in ${variable ? `"${variable}"` : "the configuration"} is not a port number (1 to 65535). Set it to the server's port, e.g. 5432.`,
        { details: { ...(variable ? { variable } : {}), reason: "bad-port" } },
      );
    }
    return { host, port, isSocket: host.startsWith("/") };
  });
  const query = value.indexOf("?") === -1 ? "" : value.slice(value.indexOf("?") + 1).split("#")[0]!;
  const parameters = [...new URLSearchParams(query)].filter(([key]) => !CONNECTION_PARAMETERS.has(key));
  return {
    endpoints,
    ...(config.user ? { user: config.user } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(config.database ? { database: config.database } : {}),
    parameters,
  };
}

function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, "/").replace(/%2C/gi, ",").replace(/%3A/gi, ":");
}

/**
 * Builds a URL from its parsed parts; by default its password is shown as `***`. The hosts and ports are the ones
 * node-postgres really uses, written where it reads them first (the authority; `?host=` for a Unix socket).
 */
export function formatDatabaseUrl(url: DatabaseUrl, options: { showPassword?: boolean } = {}): string {
  const password = url.password === undefined ? "" : `:${options.showPassword ? encodeURIComponent(url.password) : "***"}`;
  const userinfo = url.user !== undefined || password ? `${encodeURIComponent(url.user ?? "")}${password}@` : "";
  const hasSocket = url.endpoints.some((endpoint) => endpoint.isSocket);
  const bracket = (host: string): string => (host.includes(":") ? `[${host}]` : encodeURIComponent(host));
  const authority = hasSocket ? "" : url.endpoints.map((endpoint) => `${bracket(endpoint.host)}:${endpoint.port}`).join(",");
  const parameters: Array<[string, string]> = hasSocket
    ? [
        ["host", url.endpoints.map((endpoint) => endpoint.host).join(",")],
        ["port", url.endpoints.map((endpoint) => String(endpoint.port)).join(",")],
        ...url.parameters,
      ]
    : url.parameters;
  const query = parameters
    .map(([key, value]) => `${encodeURIComponent(key)}=${/password/i.test(key) && !options.showPassword ? "***" : encodeQueryValue(value)}`)
    .join("&");
  return `postgresql://${userinfo}${authority}/${encodeURIComponent(url.database ?? "")}${query ? `?${query}` : ""}`;
}
