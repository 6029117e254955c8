/** The sha256 every backup is recorded, stored, fetched and restored by. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
