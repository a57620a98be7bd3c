import { createInterface } from "node:readline/promises";

/** Asks a yes/no question on the terminal (on stderr, so that stdout stays the command's output); only "y" or "yes" is yes. */
export async function askOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
