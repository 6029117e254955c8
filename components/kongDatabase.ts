import * as command from "@pulumi/command";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import { ResolvedConfig } from "./config/config";
import { packageScript } from "./runnerBundle";

/** Arguments of {@link KongDatabase}. */
export interface KongDatabaseArgs {
  /** The resolved database settings (mode, host, port, database, user, schema, ssl). */
  readonly settings: ResolvedConfig["database"];
  /** The Kong role's password. */
  readonly password: pulumi.Input<string>;
  /** `managed` only: the administrator's password (it creates the role and the database). */
  readonly adminPassword?: pulumi.Input<string>;
  /** Directory of the `local` server (KongGateway passes `<stateDir>/postgres`). */
  readonly localDir: string;
}

/**
 * The one PostgreSQL database both Kong versions share. `existing`: settings only, nothing is
 * created. `managed`: the Kong role and database are created with @pulumi/postgresql on a server
 * you run, and kept when the stack is destroyed (they hold your configuration). `local`: a throwaway PostgreSQL server started by a command resource in a directory
 * of its own; it survives every Kong upgrade and is removed only by `pulumi destroy`.
 */
export class KongDatabase extends pulumi.ComponentResource {
  /** Resources that must exist before anything talks to the database. */
  public readonly ready: pulumi.Resource[];
  public readonly host: string;
  public readonly port: number;
  public readonly database: string;
  public readonly user: string;

  constructor(name: string, args: KongDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kong-gateway:index:KongDatabase", name, {}, opts);
    const s = args.settings;
    this.host = s.host;
    this.port = s.port;
    this.database = s.database;
    this.user = s.user;
    this.ready =
      s.mode === "local"
        ? [createLocalServer(name, args, this)]
        : s.mode === "managed"
          ? createManaged(name, args, this)
          : [];
    this.registerOutputs({
      host: this.host,
      port: this.port,
      database: this.database,
      user: this.user,
    });
  }
}

function createLocalServer(
  name: string,
  args: KongDatabaseArgs,
  parent: pulumi.Resource,
): command.local.Command {
  // Shipped with the package and named by absolute path: the importing program's folder has no
  // scripts/ of its own. In this repository the path is the one its stacks always ran.
  const script = packageScript("local-db.sh");
  const dir = args.localDir;
  const s = args.settings;
  return new command.local.Command(
    `${name}-server`,
    {
      create: `bash ${script} create ${dir} ${s.port} ${s.database} ${s.user}`,
      delete: `bash ${script} delete ${dir}`,
      environment: {
        // A new server's superuser gets a password of its own (scripts/local-db.sh); one made
        // before that has the role's first password, which this still hands over.
        PGPASSWORD: pulumi.secret(args.password),
        KONG_PG_PASSWORD: pulumi.secret(args.password),
      },
      logging: "stdoutAndStderr",
    },
    { parent },
  );
}

/**
 * `managed`: role, database and grants through the PostgreSQL provider, logged in as the
 * administrator. Both are retained on delete: `pulumi destroy` must never drop a production
 * Kong database.
 */
function createManaged(
  name: string,
  args: KongDatabaseArgs,
  parent: pulumi.Resource,
): pulumi.Resource[] {
  const s = args.settings;
  if (!args.adminPassword) {
    throw new pulumi.ResourceError(
      `kong-gateway:database.mode "managed" needs the administrator's password to create the role and database; set it with 'pulumi config set --secret kong-gateway:dbAdminPassword <password>'`,
      parent,
      true,
    );
  }
  const provider = new postgresql.Provider(
    `${name}-admin`,
    {
      host: s.host,
      port: s.port,
      username: s.adminUser,
      password: pulumi.secret(args.adminPassword),
      sslmode: s.ssl ? "require" : "prefer",
      superuser: false,
    },
    { parent },
  );
  const role = new postgresql.Role(
    `${name}-role`,
    { name: s.user, login: true, password: pulumi.secret(args.password), createDatabase: true },
    { parent, provider, retainOnDelete: true },
  );
  const database = new postgresql.Database(
    `${name}-database`,
    { name: s.database, owner: role.name, encoding: "UTF8" },
    { parent, provider, retainOnDelete: true },
  );
  const grant = new postgresql.Grant(
    `${name}-grant`,
    {
      database: database.name,
      role: role.name,
      objectType: "database",
      privileges: ["CONNECT", "CREATE", "TEMPORARY"],
    },
    { parent, provider },
  );
  return [role, database, grant];
}
