import { describe, expect, it } from "vitest";
import { redact, redactUrl, redactValue, rememberSecret } from "./redact.js";

describe("redact", () => {
  it("masks the password of any URL in a text, even one never seen before", () => {
    expect(redact("failed: postgres://app:pa55word@db:5432/x and postgresql://u:v@h/d")).toBe(
      "failed: postgres://app:***@db:5432/x and postgresql://u:***@h/d",
    );
  });

  it("masks libpq key=value passwords", () => {
    expect(redact("host=db password=hunter2 user=x")).toBe("host=db password=*** user=x");
  });

  it("masks remembered secrets wherever they appear, and inside JSON values", () => {
    rememberSecret("Zq9-remembered");
    expect(redact("the password Zq9-remembered leaked")).toBe("the password *** leaked");
    expect(redactValue({ list: ["Zq9-remembered"], nested: { at: new Date(0) } })).toEqual({
      list: ["***"],
      nested: { at: new Date(0) },
    });
  });

  it("keeps the rest of a URL readable", () => {
    expect(redactUrl("postgresql://user:p%40ss@host:5432/db?sslmode=require")).toBe(
      "postgresql://user:***@host:5432/db?sslmode=require",
    );
    expect(redactUrl("postgresql://user@host/db")).toBe("postgresql://user@host/db");
  });
});
