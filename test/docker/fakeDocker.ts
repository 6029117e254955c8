/**
 * A MOCK `docker` client for tests (no Docker engine exists on our machines): an executable
 * named `docker`, put first on PATH, that appends each call (argv, and which secrets were in
 * its environment) to a log and answers from a JSON state file — containers with labels, env
 * and running state; images; networks; canned `kong` output for one-shot containers. Only the
 * subcommands the docker runtime uses are understood; anything else exits 2 so a test notices.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One container as the mock engine knows it. */
export interface FakeContainer {
  id: string;
  running: boolean;
  exitCode: number;
  labels: Record<string, string>;
  env: string[];
  stopSignal?: string;
  /** `docker start` leaves it exited with code 1 (Kong refused to start). */
  exitOnStart?: boolean;
  logs?: string;
}

/** The mock engine's whole state. */
export interface FakeState {
  containers: Record<string, FakeContainer>;
  images: string[];
  /** Images `docker pull` can fetch. */
  pullable: string[];
  networks: string[];
  /** What `kong version` prints in a one-shot container. */
  kongVersion: string;
  /** Exit code and output of `kong check` in a one-shot container. */
  check: { code: number; output: string };
}

/** One recorded call. */
export interface FakeCall {
  argv: string[];
  /** The values of the secret variables in the docker client's environment. */
  env: { KONG_PG_PASSWORD?: string; PGPASSWORD?: string };
  /** What `run -i` read on stdin (a one-shot's password line). */
  stdin?: string;
}

const SCRIPT = String.raw`
const fs = require("node:fs");
const [stateFile, logFile] = [process.env.FAKE_DOCKER_STATE, process.env.FAKE_DOCKER_LOG];
let argv = process.argv.slice(2);
const stdin = argv.includes("run") && argv.includes("-i") ? fs.readFileSync(0, "utf8") : undefined;
fs.appendFileSync(logFile, JSON.stringify({ argv, stdin, env: {
  KONG_PG_PASSWORD: process.env.KONG_PG_PASSWORD, PGPASSWORD: process.env.PGPASSWORD } }) + "\n");
const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
const save = () => fs.writeFileSync(stateFile, JSON.stringify(state));
const out = (s) => process.stdout.write(s + "\n");
const fail = (msg, code = 1) => { process.stderr.write(msg + "\n"); process.exit(code); };
if (argv[0] === "--host") argv = argv.slice(2);
const byName = (n) => Object.entries(state.containers).find(([k, c]) => k === n || c.id === n);
const [cmd, ...rest] = argv;
if (cmd === "ps") {
  const filters = rest.filter((_, i) => rest[i - 1] === "--filter").map((f) => f.slice(6));
  for (const [, c] of Object.entries(state.containers)) {
    const ok = filters.every((f) => {
      const [k, v] = f.split(/=(.*)/s);
      return v === undefined ? k in c.labels : c.labels[k] === v;
    });
    if (ok) out(c.id);
  }
} else if (cmd === "container" && rest[0] === "inspect") {
  const found = [];
  let missing = false;
  for (const n of rest.slice(1)) {
    const e = byName(n);
    if (!e) { missing = true; process.stderr.write("Error: No such container: " + n + "\n"); continue; }
    const [name, c] = e;
    found.push({ Id: c.id, Name: "/" + name,
      State: { Status: c.running ? "running" : "exited", Running: c.running, ExitCode: c.exitCode },
      Config: { Labels: c.labels, Env: c.env, StopSignal: c.stopSignal } });
  }
  out(JSON.stringify(found));
  process.exit(missing ? 1 : 0);
} else if (cmd === "start") {
  const e = byName(rest[0]);
  if (!e) fail("Error response from daemon: No such container: " + rest[0]);
  const c = e[1];
  c.running = !c.exitOnStart; c.exitCode = c.exitOnStart ? 1 : 0;
  save(); out(rest[0]);
} else if (cmd === "stop" || cmd === "kill") {
  const name = rest[rest.length - 1];
  const e = byName(name);
  if (!e) fail("Error response from daemon: No such container: " + name);
  e[1].running = false; e[1].exitCode = cmd === "kill" ? 137 : 0;
  save(); out(name);
} else if (cmd === "logs") {
  const e = byName(rest[rest.length - 1]);
  process.stderr.write((e && e[1].logs) || "");
} else if (cmd === "image" && rest[0] === "inspect") {
  const ref = rest[rest.length - 1];
  if (!state.images.includes(ref)) fail("Error: No such image: " + ref);
  out("sha256:" + ref.length);
} else if (cmd === "pull") {
  if (!state.pullable.includes(rest[0])) fail("Error response from daemon: manifest for " + rest[0] + " not found: manifest unknown");
  state.images.push(rest[0]); save(); out("Status: Downloaded newer image for " + rest[0]);
} else if (cmd === "network" && rest[0] === "inspect") {
  const n = rest[rest.length - 1];
  if (!state.networks.includes(n)) fail("Error response from daemon: network " + n + " not found");
  out(n);
} else if (cmd === "rm") {
  delete state.containers[rest[rest.length - 1]]; save();
} else if (cmd === "run") {
  // The image ref (has a ":" and no "=") is followed by \`sh -c <read the password> kong\`.
  const k = rest.findIndex((a, i) => a === "kong" && i > 3 && rest[i - 3] === "sh" && rest[i - 2] === "-c");
  const args = rest.slice(k + 1);
  if (args[0] === "version") out(state.kongVersion);
  else if (args[0] === "check") { process.stdout.write(state.check.output); process.exit(state.check.code); }
  else if (args[0] === "migrations") out("Database is already up-to-date");
  else fail("fake docker: unknown kong command " + args.join(" "), 2);
} else {
  fail("fake docker: unsupported " + argv.join(" "), 2);
}
`;

/** A mock docker client in a fresh directory; `install()` puts it first on PATH. */
export function fakeDocker(initial: FakeState) {
  const dir = mkdtempSync(join(tmpdir(), "kong-gw-fake-docker-"));
  const stateFile = join(dir, "state.json");
  const logFile = join(dir, "calls.jsonl");
  const bin = join(dir, "docker");
  writeFileSync(bin, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(bin, 0o755);
  const reset = (s: FakeState) => {
    writeFileSync(stateFile, JSON.stringify(s));
    writeFileSync(logFile, "");
  };
  reset(initial);
  return {
    dir,
    install() {
      process.env.PATH = `${dir}:${process.env.PATH ?? ""}`;
      process.env.FAKE_DOCKER_STATE = stateFile;
      process.env.FAKE_DOCKER_LOG = logFile;
    },
    reset,
    state: (): FakeState => JSON.parse(readFileSync(stateFile, "utf8")) as FakeState,
    calls: (): FakeCall[] =>
      readFileSync(logFile, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as FakeCall),
  };
}
