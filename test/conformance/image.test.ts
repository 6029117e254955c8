/**
 * `npm run conformance -- --image … --from-image …` against a REAL container engine: podman
 * serving the Docker API, driven through the docker CLI (test/support/dockerEngine.ts), with Kong
 * images built here from the stand-in (they play Kong; they are not Kong). Every row must be ok,
 * and the kit must leave no container behind.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import {
  buildKongImage,
  dockerOk,
  startDockerEngine,
  type DockerEngine,
} from "../support/dockerEngine";

const ROOT = resolve(__dirname, "../..");
const REPO = "localhost/kong-conformance";

let engine: DockerEngine;
let image36: string;
let image35: string;

before(async () => {
  engine = await startDockerEngine();
  image36 = await buildKongImage(engine.dockerHost, REPO, "3.6.1");
  image35 = await buildKongImage(engine.dockerHost, REPO, "3.5.0");
});

after(async () => {
  await engine?.stop();
});

test("--image 3.6.1 --from-image 3.5.0 on podman: every row ok, exit 0, no container left", async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      "npm",
      ["run", "-s", "conformance", "--", "--image", image36, "--from-image", image35],
      {
        cwd: ROOT,
        env: { ...process.env, DOCKER_HOST: engine.dockerHost },
        timeout: 900_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
  assert.equal(r.code, 0, r.stdout + r.stderr.slice(-2000));
  assert.match(r.stdout, /^ {2}kong: {6}3\.6\.1 {2}\(image localhost\/kong-conformance:3\.6\.1 /m);
  assert.match(r.stdout, /\n\d+ ok, 0 FAIL, [01] skipped; 3 rows do not apply to Kong 3\.6\.1\n/);
  assert.match(r.stdout, /\nupgrade · finish +.* ok\n/);
  const left = await dockerOk(engine.dockerHost, [
    "ps",
    "-a",
    "-q",
    "--filter",
    "label=kong-gateway.conformance=1",
  ]);
  assert.equal(left.trim(), "", "the kit removed its containers");
});
