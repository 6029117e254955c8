/** Kong's interactive confirmation (`> question [Y/n] `, three tries). */
import { createInterface } from "node:readline";

const ANSWERS: Record<string, boolean> = {
  y: true,
  Y: true,
  yes: true,
  YES: true,
  n: false,
  N: false,
  no: false,
  NO: false,
};

/** Asks `question` up to three times on the terminal; undefined answers count as "no". */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (let i = 0; i < 3; i++) {
      const answer = await new Promise<string>((res) => rl.question(`> ${question} [Y/n] `, res));
      const v = ANSWERS[answer];
      if (v !== undefined) {
        return v;
      }
    }
    return false;
  } finally {
    rl.close();
  }
}
