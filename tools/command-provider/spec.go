package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// commandSpec is the plaintext form of a Command's inputs, or of its state (which adds the
// stdout/stderr of the last run).
type commandSpec struct {
	Create, Update, Delete string
	Dir                    string
	Environment            map[string]string
	Interpreter            []string
	Stdin                  string
	Logging                string
	AddPreviousOutputInEnv bool
	AssetPaths             []string
	ArchivePaths           []string
	Connection             *connectionSpec
	Stdout, Stderr         string
}

// connectionSpec is how to reach a remote host over SSH, optionally through a bastion.
type connectionSpec struct {
	Host               string
	Port               int
	User               string
	Password           string
	PrivateKey         string
	PrivateKeyPassword string
	AgentSocketPath    string
	// DialErrorLimit is how many failed dials are tolerated; -1 means no limit.
	DialErrorLimit int
	// PerDialTimeoutSeconds bounds one dial attempt; 0 means no bound.
	PerDialTimeoutSeconds int
	// HostKey, in authorized_keys format, pins the server's key; empty accepts any key.
	HostKey string
	Proxy   *connectionSpec
}

// decodeCommand reads a Command's inputs or state. The properties must be fully known, which
// the engine guarantees outside of previews.
func decodeCommand(props resource.PropertyMap, kind *resourceKind) (commandSpec, error) {
	r := &propReader{props: props}
	spec := commandSpec{
		Create:                 r.str(keyCreate),
		Update:                 r.str(keyUpdate),
		Delete:                 r.str(keyDelete),
		Environment:            r.strMap(keyEnvironment),
		Stdin:                  r.str(keyStdin),
		Logging:                r.str(keyLogging),
		AddPreviousOutputInEnv: r.boolean(keyAddPrevious, true),
		Stdout:                 r.str(keyStdout),
		Stderr:                 r.str(keyStderr),
	}
	if kind.remote {
		if conn, ok := r.object(keyConnection); ok {
			inner := &propReader{props: conn}
			spec.Connection = decodeConnection(inner, true)
			if inner.err != nil && r.err == nil {
				r.err = inner.err
			}
		}
	} else {
		spec.Dir = r.str(keyDir)
		spec.Interpreter = r.strList(keyInterpreter)
		spec.AssetPaths = r.strList(keyAssetPaths)
		spec.ArchivePaths = r.strList(keyArchivePaths)
	}
	return spec, r.err
}

// decodeConnection applies the same defaults as the SDK's connectionArgsProvideDefaults, so
// that state written by other SDKs (which may not apply them) behaves the same.
func decodeConnection(r *propReader, allowProxy bool) *connectionSpec {
	c := &connectionSpec{
		Host:                  r.str("host"),
		Port:                  int(r.number("port", 22)),
		User:                  r.str("user"),
		Password:              r.str("password"),
		PrivateKey:            r.str("privateKey"),
		PrivateKeyPassword:    r.str("privateKeyPassword"),
		AgentSocketPath:       r.str("agentSocketPath"),
		DialErrorLimit:        int(r.number("dialErrorLimit", 10)),
		PerDialTimeoutSeconds: int(r.number("perDialTimeout", 15)),
		HostKey:               r.str("hostKey"),
	}
	if c.User == "" {
		c.User = "root"
	}
	if allowProxy {
		if proxy, ok := r.object("proxy"); ok {
			inner := &propReader{props: proxy}
			c.Proxy = decodeConnection(inner, false)
			if inner.err != nil && r.err == nil {
				r.err = inner.err
			}
		}
	}
	return c
}

// shouldLog reports whether lines of one stream are shown to the user under a logging mode.
// An unset mode means both streams, as in the real provider.
func shouldLog(mode string, stderr bool) bool {
	switch mode {
	case "", "stdoutAndStderr":
		return true
	case "stdout":
		return !stderr
	case "stderr":
		return stderr
	default:
		return false
	}
}
