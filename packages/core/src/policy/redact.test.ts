import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDatabaseUrl } from "../db/database-url.js";
import { redact, redactUrl, redactValue, rememberSecret } from "./redact.js";

describe("redact", () => {
  it("masks the password of any URL in a text, even one never seen before", () => {
    expect(redact("failed: postgres://app:pa55word@db:5432/x and postgresql://u:v@h/d")).toBe(
      "failed: postgres://app:***@db:5432/x and postgresql://u:***@h/d",
    );
  });

  it("masks a password with unencoded '@' and '/' whole", () => {
    expect(redact('connecting to "postgresql://app:Zq7@very/secret%x@db:5432/app" failed')).toBe(
      'connecting to "postgresql://app:***@db:5432/app" failed',
    );
    expect(redact("postgresql://me@corp:p@ss/w?rd#1@db/app?sslmode=require")).toBe("postgresql://me@corp:***@db/app?sslmode=require");
  });

  it("masks libpq key=value, query, environment and JSON passwords", () => {
    expect(redact("host=db password=hunter2 user=x")).toBe("host=db password=*** user=x");
    expect(redact("host=db password='a b\\'c' user=x")).toBe("host=db password=*** user=x");
    expect(redact("postgresql://h/db?user=u&password=hunter2&port=5432")).toBe("postgresql://h/db?user=u&password=***&port=5432");
    expect(redact("PGPASSWORD=hunter2 pg_dump")).toBe("PGPASSWORD=*** pg_dump");
    expect(redact('{"user":"u","password":"hun\\"ter2"}')).toBe('{"user":"u","password":"***"}');
    expect(redact("password authentication failed for user \"u\"")).toBe('password authentication failed for user "u"');
  });

  it("masks distinctive remembered secrets wherever they appear, and inside JSON values", () => {
    rememberSecret("Zq9-remembered");
    expect(redact("the password Zq9-remembered leaked, as did xZq9-rememberedx")).toBe("the password *** leaked, as did x***x");
    expect(redactValue({ list: ["Zq9-remembered"], nested: { at: new Date(0) } })).toEqual({
      list: ["***"],
      nested: { at: new Date(0) },
    });
  });

  it("never masks a short or word-like secret outside a password field", () => {
    rememberSecret("postgres");
    rememberSecret("books");
    rememberSecret("secret_password");
    const text = "postgresql://postgres:postgres@127.0.0.1:5432/postgres 0002_create_books books secret_password_reset";
    expect(redact(text)).toBe(
      "postgresql://postgres:***@127.0.0.1:5432/postgres 0002_create_books books secret_password_reset",
    );
  });

  it("shows a URL from its parsed parts: the host and port node-postgres really uses", () => {
    expect(redactUrl("postgresql://user:p%40ss@host:5432/db?sslmode=require")).toBe(
      "postgresql://user:***@host:5432/db?sslmode=require",
    );
    expect(redactUrl("postgresql://user@host/db")).toBe("postgresql://user@host:5432/db");
    expect(redactUrl("postgresql://u:p@db.internal:5432/app?host=ep-x-pooler.neon.tech&port=6432&sslmode=require")).toBe(
      "postgresql://u:***@ep-x-pooler.neon.tech:6432/app?sslmode=require",
    );
    expect(redactUrl("postgresql://u@/app?host=/var/run/postgresql")).toBe("postgresql://u@/app?host=/var/run/postgresql&port=5432");
    expect(redactUrl("postgresql://u@h/app?password=secret-x&sslpassword=y")).toBe("postgresql://u:***@h:5432/app?sslpassword=***");
    expect(redactUrl("https://user:token@example.com/x")).toBe("https://user:***@example.com/x");
  });
});

const PASSWORD_CHARACTERS = [..."abcXYZ019@/:?#%!$&'()*+,;=[]^|{}~-_.\\"];
const userArbitrary = fc.stringMatching(/^[a-z][a-z0-9_]{0,9}$/);
const hostArbitrary = fc.oneof(fc.domain(), fc.ipV4());
const databaseArbitrary = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const idArbitrary = fc.stringMatching(/^[0-9]{4}_[a-z][a-z_]{0,15}$/);
const passwordArbitrary = fc
  .array(fc.constantFrom(...PASSWORD_CHARACTERS), { minLength: 1, maxLength: 24 })
  .map((characters) => characters.join(""));

describe("redaction, over generated URLs and passwords", () => {
  it("masks the password of a properly encoded URL and keeps the id, user, host, port and database", () => {
    fc.assert(
      fc.property(idArbitrary, userArbitrary, passwordArbitrary, hostArbitrary, fc.integer({ min: 1, max: 65535 }), databaseArbitrary,
        (id, user, password, host, port, database) => {
          rememberSecret(password);
          const url = `postgresql://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
          const expected = `postgresql://${user}:***@${host}:${port}/${database}`;
          expect(redact(`applied ${id} on ${url}`)).toBe(`applied ${id} on ${expected}`);
          expect(parseDatabaseUrl(url)).toMatchObject({ user, password, database, endpoints: [{ host, port }] });
          expect(redactUrl(url)).toBe(expected);
          expect(redactValue({ id, database: url })).toEqual({ id, database: expected });
        }),
      { numRuns: 500 },
    );
  });

  it("masks a password pasted without encoding, reserved characters and all", () => {
    fc.assert(
      fc.property(idArbitrary, userArbitrary, passwordArbitrary, hostArbitrary, fc.integer({ min: 1, max: 65535 }), databaseArbitrary,
        (id, user, password, host, port, database) => {
          const text = `${id}: could not reach "postgresql://${user}:${password}@${host}:${port}/${database}?sslmode=require"`;
          expect(redact(text)).toBe(`${id}: could not reach "postgresql://${user}:***@${host}:${port}/${database}?sslmode=require"`);
        }),
      { numRuns: 500 },
    );
  });

  it("parses a pasted password exactly as meant, or refuses the URL", () => {
    fc.assert(
      fc.property(userArbitrary, passwordArbitrary.filter((password) => !/%[0-9a-f]{2}/i.test(password)), hostArbitrary, fc.integer({ min: 1, max: 65535 }), databaseArbitrary,
        (user, password, host, port, database) => {
          let parsed;
          try {
            parsed = parseDatabaseUrl(`postgresql://${user}:${password}@${host}:${port}/${database}`);
          } catch (error) {
            expect(error).toMatchObject({ code: "URL_INVALID" });
            if (password.length >= 8) expect((error as Error).message).not.toContain(password);
            return;
          }
          expect(parsed).toMatchObject({ user, password, database, endpoints: [{ host, port, isSocket: false }] });
        }),
      { numRuns: 500 },
    );
  });
});
