/**
 * What a running node serves: Admin API CRUD with Kong's shapes and codes, proxy routing by the
 * database's routes (echo and real upstreams), key-auth and rate-limiting, configuration shared by
 * two nodes through the database, and `kong config db_export` / `db_import`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startPostgres, type DatabaseSettings, type PostgresServer } from "../support/postgres";
import {
  freshDb,
  http,
  installKong,
  rawGet,
  kong,
  killNode,
  nodeEnv,
  pgEnv,
  RUN_WITH_V,
} from "./helpers";

let pg: PostgresServer;
let k36: string;
let db: DatabaseSettings;
let a: Awaited<ReturnType<typeof nodeEnv>>;
let b: Awaited<ReturnType<typeof nodeEnv>>;
let upstream: Server;
let upstreamUrl: string;

before(async () => {
  pg = await startPostgres();
  k36 = await installKong("3.6.1");
  db = await freshDb(pg, "api");
  a = await nodeEnv(db);
  b = await nodeEnv(db);
  assert.equal((await kong(k36, ["migrations", "bootstrap", "-q"], a.env)).code, 0);
  assert.equal((await kong(k36, ["start"], a.env)).code, 0);
  assert.equal((await kong(k36, ["start"], b.env)).code, 0);
  upstream = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        upstream: true,
        url: req.url,
        host: req.headers.host,
        consumer: req.headers["x-consumer-username"] ?? null,
      }),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
});

after(async () => {
  [a, b].forEach((n) => n && killNode(n.prefix));
  upstream?.close();
  await pg?.stop();
});

const post = (url: string, body: unknown) => http(url, { method: "POST", body });

describe("Admin API", () => {
  test("services: create (201), read by id and name, list, patch, conflict (409), errors (400), delete (204)", async () => {
    const created = await post(`${a.admin}/services`, {
      name: "crud",
      url: "https://example.test:8443/v1",
    });
    assert.equal(created.status, 201);
    const s = created.json;
    assert.match(String(s.id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(
      {
        protocol: s.protocol,
        host: s.host,
        port: s.port,
        path: s.path,
        retries: s.retries,
        connect_timeout: s.connect_timeout,
      },
      {
        protocol: "https",
        host: "example.test",
        port: 8443,
        path: "/v1",
        retries: 5,
        connect_timeout: 60000,
      },
    );
    assert.equal(typeof s.created_at, "number");
    assert.deepEqual((await http(`${a.admin}/services/crud`)).json, s);
    assert.deepEqual((await http(`${a.admin}/services/${String(s.id)}`)).json, s);
    const list = await http(`${a.admin}/services`);
    assert.equal(list.json.next, null);
    assert.ok((list.json.data as { name: string }[]).some((x) => x.name === "crud"));
    const patched = await http(`${a.admin}/services/crud`, {
      method: "PATCH",
      body: { retries: 2 },
    });
    assert.deepEqual(
      [patched.status, patched.json.retries, patched.json.host],
      [200, 2, "example.test"],
    );
    const dup = await post(`${a.admin}/services`, { name: "crud", host: "x.test" });
    assert.deepEqual(
      [dup.status, dup.json],
      [
        409,
        {
          code: 5,
          name: "unique constraint violation",
          message: `UNIQUE violation detected on '{name="crud"}'`,
          fields: { name: "crud" },
        },
      ],
    );
    const bad = await post(`${a.admin}/services`, { name: "bad", port: "eighty", colour: "red" });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.fields, {
      port: "expected an integer",
      colour: "unknown field",
      host: "required field missing",
    });
    assert.equal(
      bad.json.message,
      "3 schema violations (port: expected an integer; colour: unknown field; host: required field missing)",
    );
    const del = await fetch(`${a.admin}/services/crud`, { method: "DELETE" });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), "");
    assert.deepEqual(await http(`${a.admin}/services/crud`).then((r) => [r.status, r.json]), [
      404,
      { message: "Not found" },
    ]);
  });

  test("pagination: size and next", async () => {
    for (let i = 0; i < 3; i++) {
      await post(`${a.admin}/consumers`, { username: `page-${i}` });
    }
    const first = await http(`${a.admin}/consumers?size=2`);
    assert.equal((first.json.data as unknown[]).length, 2);
    assert.match(String(first.json.next), /^\/consumers\?offset=/);
    const rest = await http(`${a.admin}${String(first.json.next)}`);
    assert.ok((rest.json.data as unknown[]).length >= 1);
  });

  test("routes need a matching attribute; forms work like curl --data", async () => {
    const svc = await post(`${a.admin}/services`, { name: "forms", host: "echo.sim" });
    const none = await post(`${a.admin}/services/forms/routes`, { name: "empty" });
    assert.equal(none.status, 400);
    assert.equal(
      none.json.message,
      "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
    );
    const form = await fetch(`${a.admin}/services/forms/routes`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=viaform&paths[]=/form&methods=GET&methods=POST&strip_path=false",
    });
    const r = (await form.json()) as Record<string, unknown>;
    assert.equal(form.status, 201);
    assert.deepEqual(
      [r.paths, r.methods, r.strip_path, r.service],
      [["/form"], ["GET", "POST"], false, { id: svc.json.id }],
    );
    const nested = await http(`${a.admin}/services/forms/routes`);
    assert.deepEqual(
      (nested.json.data as { name: string }[]).map((x) => x.name),
      ["viaform"],
    );
    const unknownService = await post(`${a.admin}/routes`, {
      paths: ["/x"],
      service: { id: "00000000-0000-0000-0000-000000000001" },
    });
    assert.equal(unknownService.status, 400);
    assert.equal(unknownService.json.name, "foreign key violation");
  });
});

describe("proxy", () => {
  test("routes by path, host and method to echo.sim and to a real upstream; unmatched → 404", async () => {
    await post(`${a.admin}/services`, { name: "echo", url: "http://echo.sim/base" });
    await post(`${a.admin}/services/echo/routes`, { name: "by-path", paths: ["/echo"] });
    await post(`${a.admin}/services`, { name: "real", url: upstreamUrl });
    await post(`${a.admin}/services/real/routes`, {
      name: "by-host",
      hosts: ["api.test"],
      methods: ["GET"],
    });
    const echo = await http(`${a.proxy}/echo/hello?x=1`);
    assert.equal(echo.status, 200);
    assert.deepEqual(
      [echo.json.path, echo.json.route, echo.json.service],
      ["/base/hello?x=1", "by-path", "echo"],
    );
    assert.match(String(echo.headers.get("via")), /kong\/3\.6\.1/);
    const real = await rawGet(`${a.proxy}/anything`, { host: "api.test" });
    assert.deepEqual(real.json, {
      upstream: true,
      url: "/anything",
      host: upstreamUrl.replace("http://", ""),
      consumer: null,
    });
    const wrongHost = await rawGet(`${a.proxy}/anything`, { host: "other.test" });
    assert.equal(wrongHost.status, 404);
    const wrongMethod = await http(`${a.proxy}/anything`, { method: "POST" });
    assert.deepEqual(
      [wrongMethod.status, wrongMethod.json],
      [404, { message: "no Route matched with those values" }],
    );
    assert.deepEqual((await http(`${a.proxy}/nothing-here`)).json, {
      message: "no Route matched with those values",
    });
  });

  test("key-auth: consumers and /consumers/{c}/key-auth credentials", async () => {
    await post(`${a.admin}/services`, { name: "secure", url: upstreamUrl });
    await post(`${a.admin}/services/secure/routes`, { paths: ["/secure"] });
    assert.equal(
      (await post(`${a.admin}/services/secure/plugins`, { name: "key-auth" })).status,
      201,
    );
    assert.equal((await post(`${a.admin}/consumers`, { username: "alice" })).status, 201);
    const cred = await post(`${a.admin}/consumers/alice/key-auth`, { key: "alice-key" });
    assert.deepEqual([cred.status, cred.json.key], [201, "alice-key"]);
    const generated = await post(`${a.admin}/consumers/alice/key-auth`, {});
    assert.match(String(generated.json.key), /^[0-9a-f]{32}$/);
    assert.equal(
      (await http(`${a.admin}/consumers/alice/key-auth`)).json.data instanceof Array,
      true,
    );
    const missing = await http(`${a.proxy}/secure`);
    assert.deepEqual(
      [missing.status, missing.json, missing.headers.get("www-authenticate")],
      [401, { message: "No API key found in request" }, 'Key realm="kong"'],
    );
    assert.deepEqual((await http(`${a.proxy}/secure`, { headers: { apikey: "nope" } })).json, {
      message: "Invalid authentication credentials",
    });
    const ok = await http(`${a.proxy}/secure?apikey=alice-key`);
    assert.deepEqual([ok.status, ok.json.consumer], [200, "alice"]);
    const delCred = await fetch(`${a.admin}/consumers/alice/key-auth/alice-key`, {
      method: "DELETE",
    });
    assert.equal(delCred.status, 204);
    assert.equal((await http(`${a.proxy}/secure?apikey=alice-key`)).status, 401);
  });

  test("rate-limiting (local policy): limits per consumer/IP with Kong's headers", async () => {
    await post(`${a.admin}/services`, { name: "limited", url: "http://echo.sim" });
    await post(`${a.admin}/services/limited/routes`, { paths: ["/limited"] });
    const p = await post(`${a.admin}/services/limited/plugins`, {
      name: "rate-limiting",
      config: { minute: 2, redis_host: "r.test" },
    });
    assert.equal(p.status, 201);
    assert.deepEqual(
      (p.json.config as { redis: { host: string } }).redis.host,
      "r.test",
      "3.6 stores redis_* shorthands in config.redis",
    );
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const r = await http(`${a.proxy}/limited`);
      seen.push([r.status, r.headers.get("x-ratelimit-remaining-minute")]);
    }
    assert.deepEqual(seen, [
      [200, "1"],
      [200, "0"],
      [429, "0"],
    ]);
    assert.deepEqual((await http(`${a.proxy}/limited`)).json, {
      message: "API rate limit exceeded",
    });
    const dup = await post(`${a.admin}/services/limited/plugins`, {
      name: "rate-limiting",
      config: { minute: 5 },
    });
    assert.equal(dup.status, 409);
    const noLimit = await post(`${a.admin}/plugins`, { name: "rate-limiting", config: {} });
    assert.equal(noLimit.status, 400);
    const unknown = await post(`${a.admin}/plugins`, { name: "my-plugin" });
    assert.equal(
      unknown.json.message,
      "schema violation (name: plugin 'my-plugin' not enabled; add it to the 'plugins' configuration property)",
    );
  });

  test("two nodes share configuration through the database", async () => {
    await post(`${a.admin}/services`, { name: "shared", url: "http://echo.sim" });
    await post(`${a.admin}/services/shared/routes`, { paths: ["/shared"] });
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await http(`${b.proxy}/shared`)).status;
    }
    assert.equal(status, 200, "node B picked up node A's write");
    await fetch(`${b.admin}/services/shared/routes`).then((r) => r.json());
  });
});

describe("kong config", () => {
  test("db_export writes the flat declarative format; db_import loads it into another database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-export-"));
    const file = join(dir, "kong.yml");
    assert.deepEqual(await kong(k36, ["config", "db_export", file], pgEnv(db)), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    const exported = JSON.parse(readFileSync(file, "utf8")) as Record<
      string,
      { name?: string; service?: string }[]
    >;
    assert.equal(exported._format_version as unknown, "3.0");
    assert.ok(exported.services?.some((s) => s.name === "echo"));
    assert.ok(exported.routes?.every((r) => typeof r.service === "string"));
    assert.deepEqual(await kong(k36, ["config", "db_export", file], pgEnv(db)), {
      code: 1,
      stdout: "",
      stderr: `Error: ${file} already exists. Will not overwrite it.\n${RUN_WITH_V}`,
    });
    const target = await freshDb(pg, "import");
    await kong(k36, ["migrations", "bootstrap", "-q"], pgEnv(target));
    assert.deepEqual(await kong(k36, ["config", "db_import", file], pgEnv(target)), {
      code: 0,
      stdout: "parse successful, beginning import\nimport successful\n",
      stderr: "",
    });
    const count = async (d: DatabaseSettings, t: string) =>
      (await pg.query<{ n: number }>(d.database, `SELECT count(*)::int AS n FROM ${t}`))[0]?.n;
    for (const t of ["services", "routes", "plugins", "consumers", "keyauth_credentials"]) {
      assert.equal(await count(target, t), await count(db, t), t);
    }
    const defaultName = await kong(k36, ["config", "db_export"], pgEnv(db), dir);
    assert.equal(defaultName.code, 1, "./kong.yml exists in that directory");
  });
});
