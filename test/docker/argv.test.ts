/**
 * The docker runtime's command lines, argument by argument (no Docker engine is needed: these
 * are the exact argv arrays the runner hands to the docker client).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  containerSettings,
  globalFlags,
  hostPorts,
  imageRef,
  inspectArgs,
  jobName,
  kongRunArgs,
  KongRun,
  listArgs,
  nodeLabels,
  pgClientImageFor,
  pgRunArgs,
  PgRun,
  readSecretThenExec,
  recordFromContainer,
  settingsFromEnv,
  startArgs,
  statusHealthcheckTest,
  stopArgs,
} from "../../components/runner/runtimes/dockerArgv";

const PASSWORD = "s3cret-pa55";

const migration: KongRun = {
  dockerHost: "",
  cluster: "kgw",
  image: "kong",
  version: "3.6.1",
  network: "kgw-net",
  settings: {
    KONG_DATABASE: "postgres",
    KONG_PG_HOST: "db.internal",
    KONG_PG_PORT: "5432",
    KONG_PG_USER: "kong",
    KONG_PG_DATABASE: "kong",
    KONG_PG_SSL: "off",
    KONG_PLUGINS: "bundled",
  },
  args: ["migrations", "up", "--db-timeout", "60", "--lock-timeout", "60"],
};

describe("one-shot Kong containers", () => {
  const cases: { name: string; run: KongRun; want: string[] }[] = [
    {
      name: "migrations up on the default engine",
      run: migration,
      want: [
        "run",
        "-i",
        "--network",
        "kgw-net",
        "--name",
        "kgw-kong-migrations-up-3.6.1",
        "--add-host",
        "host.docker.internal:host-gateway",
        "--label",
        "kong-gateway.cluster=kgw",
        "--label",
        "kong-gateway.job=migrations-up",
        "-e",
        "KONG_DATABASE=postgres",
        "-e",
        "KONG_PG_HOST=db.internal",
        "-e",
        "KONG_PG_PORT=5432",
        "-e",
        "KONG_PG_USER=kong",
        "-e",
        "KONG_PG_DATABASE=kong",
        "-e",
        "KONG_PG_SSL=off",
        "-e",
        "KONG_PLUGINS=bundled",
        "kong:3.6.1",
        "sh",
        "-c",
        'IFS= read -r KONG_PG_PASSWORD && export KONG_PG_PASSWORD && exec "$0" "$@"',
        "kong",
        "migrations",
        "up",
        "--db-timeout",
        "60",
        "--lock-timeout",
        "60",
      ],
    },
    {
      name: "kong version of an Enterprise image on a remote engine, no network, no settings",
      run: {
        ...migration,
        dockerHost: "ssh://ops@docker-1",
        image: "kong/kong-gateway",
        version: "3.4.3.12",
        network: "",
        settings: {},
        args: ["version"],
      },
      want: [
        "--host",
        "ssh://ops@docker-1",
        "run",
        "-i",
        "--name",
        "kgw-kong-version-3.4.3.12",
        "--add-host",
        "host.docker.internal:host-gateway",
        "--label",
        "kong-gateway.cluster=kgw",
        "--label",
        "kong-gateway.job=version",
        "kong/kong-gateway:3.4.3.12",
        "sh",
        "-c",
        'IFS= read -r KONG_PG_PASSWORD && export KONG_PG_PASSWORD && exec "$0" "$@"',
        "kong",
        "version",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(kongRunArgs(c.run), c.want));
  }

  it("names a one-shot by its command words only", () => {
    assert.equal(jobName(["migrations", "finish", "--db-timeout", "5"]), "migrations-finish");
    assert.equal(jobName(["check", "/etc/kong/kong.conf.default"]), "check");
    assert.equal(jobName(["migrations", "list", "extra"]), "migrations-list");
    assert.equal(jobName(["--v"]), "kong");
  });

  it("never puts the password on argv or in the container's environment, whatever the settings hold", () => {
    process.env.KONG_PG_PASSWORD = PASSWORD;
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("KONG_PG_HOST", "KONG_PLUGINS", "KONG_PG_USER"), fc.string()),
        fc.array(fc.string(), { maxLength: 4 }),
        (settings, args) => {
          const argv = kongRunArgs({ ...migration, settings, args });
          assert.ok(!argv.some((a) => a.includes(PASSWORD)));
          const flags = argv.flatMap((a, i) => (argv[i - 1] === "-e" ? [a] : []));
          assert.ok(!flags.some((a) => a.startsWith("KONG_PG_PASSWORD")), "not even by name");
          assert.equal(argv[argv.indexOf("-c") + 1], readSecretThenExec("KONG_PG_PASSWORD"));
        },
      ),
    );
  });
});

describe("node lifecycle commands", () => {
  const table: { name: string; got: string[]; want: string[] }[] = [
    {
      name: "stop of a Kong image (STOPSIGNAL SIGQUIT): time only",
      got: stopArgs("", "kgw-3.6.1-node-0", 10, "SIGQUIT"),
      want: ["stop", "--time", "10", "kgw-3.6.1-node-0"],
    },
    {
      name: "stop when docker reports no stop signal (image default)",
      got: stopArgs("", "n", 7, undefined),
      want: ["stop", "--time", "7", "n"],
    },
    {
      name: "stop of a container whose stop signal is SIGTERM: asks for SIGQUIT",
      got: stopArgs("", "n", 30, "SIGTERM"),
      want: ["stop", "--signal", "SIGQUIT", "--time", "30", "n"],
    },
    {
      name: "stop on a named engine",
      got: stopArgs("tcp://10.0.0.5:2376", "n", 10, "QUIT"),
      want: ["--host", "tcp://10.0.0.5:2376", "stop", "--time", "10", "n"],
    },
    { name: "start", got: startArgs("", "n"), want: ["start", "n"] },
    {
      name: "discovery lists node containers of the cluster only",
      got: listArgs("", "kgw"),
      want: [
        "ps",
        "-a",
        "-q",
        "--no-trunc",
        "--filter",
        "label=kong-gateway.cluster=kgw",
        "--filter",
        "label=kong-gateway.id",
      ],
    },
    {
      name: "inspect",
      got: inspectArgs("unix:///run/docker.sock", ["a", "b"]),
      want: ["--host", "unix:///run/docker.sock", "container", "inspect", "a", "b"],
    },
  ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(c.got, c.want));
  }

  it("adds --host only when the stack names an engine", () => {
    assert.deepEqual(globalFlags(""), []);
    assert.deepEqual(globalFlags("ssh://u@h"), ["--host", "ssh://u@h"]);
  });
});

describe("the pg client container", () => {
  const base: PgRun = {
    dockerHost: "",
    cluster: "kgw",
    network: "kgw-net",
    image: pgClientImageFor("postgres:{major}", 16),
    tool: "pg_dump",
    args: ["-h", "db", "-p", "5432", "-U", "kong", "-d", "kong", "-Fc", "-f", "/b/x.dump.partial"],
    mounts: ["/b", "/b"],
    user: "1000:1000",
  };

  it("fills in the server's major and mounts the backup dir at the same path once", () => {
    assert.deepEqual(pgRunArgs(base), [
      "run",
      "-i",
      "--network",
      "kgw-net",
      "--user",
      "1000:1000",
      "--add-host",
      "host.docker.internal:host-gateway",
      "--label",
      "kong-gateway.cluster=kgw",
      "--label",
      "kong-gateway.job=pg_dump",
      "-e",
      "PGSSLMODE",
      "-e",
      "PGCONNECT_TIMEOUT",
      "-v",
      "/b:/b",
      "postgres:16",
      "sh",
      "-c",
      'IFS= read -r PGPASSWORD && export PGPASSWORD && exec "$0" "$@"',
      "pg_dump",
      ...base.args,
    ]);
  });

  it("substitutes {major} wherever the template has it", () => {
    const table: [string, number, string][] = [
      ["postgres:{major}", 15, "postgres:15"],
      ["postgres:{major}-alpine", 17, "postgres:17-alpine"],
      ["registry.local/pg{major}/client:{major}", 16, "registry.local/pg16/client:16"],
      ["my/pgclient:latest", 16, "my/pgclient:latest"],
    ];
    for (const [template, major, want] of table) {
      assert.equal(pgClientImageFor(template, major), want);
    }
  });
});

describe("node labels, settings and ports", () => {
  const labels = nodeLabels({
    cluster: "kgw",
    id: "node-1",
    version: "3.6.1",
    generation: 2,
    statusUrl: "http://127.0.0.1:8012",
    adminUrl: "http://127.0.0.1:8011",
    proxyUrl: "http://127.0.0.1:8010",
  });

  it("labels round-trip into the node record discovery returns", () => {
    const rec = recordFromContainer({
      Name: "/kgw-3.6.1-node-1",
      State: { Status: "exited", Running: false, ExitCode: 0 },
      Config: {
        Labels: { ...labels, "org.opencontainers.image.version": "3.6.1" },
        Env: [
          "PATH=/usr/bin",
          "KONG_VERSION=3.6.1",
          "KONG_PG_HOST=db",
          "KONG_PG_PASSWORD_FILE=/run/secrets/kong_pg_password",
          "KONG_PLUGINS=bundled,acme",
        ],
      },
    });
    assert.deepEqual(rec, {
      cluster: "kgw",
      id: "node-1",
      version: "3.6.1",
      generation: 2,
      kongBin: "kong",
      prefix: "docker:kgw-3.6.1-node-1",
      container: "kgw-3.6.1-node-1",
      statusUrl: "http://127.0.0.1:8012",
      adminUrl: "http://127.0.0.1:8011",
      proxyUrl: "http://127.0.0.1:8010",
      settings: { KONG_PG_HOST: "db", KONG_PLUGINS: "bundled,acme" },
    });
  });

  it("a container without the node labels is not a node", () => {
    const c = { Name: "/x", State: { Status: "running", Running: true, ExitCode: 0 } };
    assert.equal(recordFromContainer({ ...c, Config: { Labels: null } }), undefined);
    assert.deepEqual(settingsFromEnv(["KONG_PG_PASSWORD=leak", "KONG_X=1=2"]), { KONG_X: "1=2" });
  });

  it("publishes basePort+10i, +1, +2 and listens on fixed container ports", () => {
    assert.deepEqual(hostPorts(8000, 0), { proxy: 8000, admin: 8001, status: 8002 });
    assert.deepEqual(hostPorts(9000, 3), { proxy: 9030, admin: 9031, status: 9032 });
    assert.deepEqual(containerSettings({ KONG_PG_HOST: "127.0.0.1", KONG_PLUGINS: "b" }, "db"), {
      KONG_PG_HOST: "db",
      KONG_PLUGINS: "b",
      KONG_PROXY_LISTEN: "0.0.0.0:8000",
      KONG_ADMIN_LISTEN: "0.0.0.0:8001",
      KONG_STATUS_LISTEN: "0.0.0.0:8100",
    });
    assert.equal(imageRef("kong/kong-gateway", "3.4.3.12"), "kong/kong-gateway:3.4.3.12");
  });

  it("health-checks /status on the status listener with bash (curl is not in Kong images)", () => {
    const t = statusHealthcheckTest();
    assert.deepEqual(t.slice(0, 3), ["CMD", "bash", "-c"]);
    assert.match(t[3]!, /\/dev\/tcp\/127\.0\.0\.1\/8100/);
    assert.match(t[3]!, /GET \/status HTTP\/1\.0/);
    assert.match(t[3]!, /"reachable":true/);
  });
});
