import { redact } from "@polymigrate/core";

/** Where the CLI writes; every line goes through the redaction path. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (progress lines are redrawn only there). */
  isTerminal: boolean;
}

/** The streams the CLI writes to. */
export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** Wraps the streams so that nothing printed can carry a password. */
export function createOutput(streams: Streams): Output {
  return {
    out: (text) => void streams.stdout.write(`${redact(text)}\n`),
    err: (text) => void streams.stderr.write(`${redact(text)}\n`),
    isTerminal: streams.stdout.isTTY === true,
  };
}
