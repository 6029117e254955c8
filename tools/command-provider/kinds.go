package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Property names shared by the SDK (`@pulumi/command` 1.2.1) and this provider. They are part of
// the stored state, so they must never change.
const (
	keyCreate       resource.PropertyKey = "create"
	keyUpdate       resource.PropertyKey = "update"
	keyDelete       resource.PropertyKey = "delete"
	keyDir          resource.PropertyKey = "dir"
	keyEnvironment  resource.PropertyKey = "environment"
	keyInterpreter  resource.PropertyKey = "interpreter"
	keyTriggers     resource.PropertyKey = "triggers"
	keyStdin        resource.PropertyKey = "stdin"
	keyLogging      resource.PropertyKey = "logging"
	keyAddPrevious  resource.PropertyKey = "addPreviousOutputInEnv"
	keyAssetPaths   resource.PropertyKey = "assetPaths"
	keyArchivePaths resource.PropertyKey = "archivePaths"
	keyConnection   resource.PropertyKey = "connection"
	keySource       resource.PropertyKey = "source"
	keyLocalPath    resource.PropertyKey = "localPath"
	keyRemotePath   resource.PropertyKey = "remotePath"
	keyCommand      resource.PropertyKey = "command"
	keyStdout       resource.PropertyKey = "stdout"
	keyStderr       resource.PropertyKey = "stderr"
	keyAssets       resource.PropertyKey = "assets"
	keyArchive      resource.PropertyKey = "archive"
	envPreviousOut                       = "PULUMI_COMMAND_STDOUT"
	envPreviousErr                       = "PULUMI_COMMAND_STDERR"
)

// valueType is the shape Check expects a property to have.
type valueType int

const (
	typeString valueType = iota
	typeBool
	typeNumber
	typeStringList
	typeStringMap
	typeAny
	typeConnection
	typeAssetOrArchive
)

// field is one input property of a resource or function.
type field struct {
	key      resource.PropertyKey
	typ      valueType
	required bool
	// replace: a change to this input replaces the resource instead of updating it.
	replace bool
}

// resourceKind describes one resource type the provider implements.
type resourceKind struct {
	token  tokens.Type
	fields []field
	// runsCommands: the resource has create/update/delete commands and stdout/stderr outputs.
	runsCommands bool
	remote       bool
	// outputSecretSources lists the inputs whose secrecy makes stdout and stderr secret. The real
	// provider derives a local command's output from all of its inputs, but a remote command's
	// only from its command strings (its connection is always secret).
	outputSecretSources []resource.PropertyKey
}

var commonCommandFields = []field{
	{key: keyCreate, typ: typeString},
	{key: keyUpdate, typ: typeString},
	{key: keyDelete, typ: typeString},
	{key: keyEnvironment, typ: typeStringMap},
	{key: keyTriggers, typ: typeAny, replace: true},
	{key: keyStdin, typ: typeString},
	{key: keyLogging, typ: typeString},
	{key: keyAddPrevious, typ: typeBool},
}

var localCommand = &resourceKind{
	token: "command:local:Command",
	fields: append([]field{
		{key: keyDir, typ: typeString},
		{key: keyInterpreter, typ: typeStringList},
		{key: keyAssetPaths, typ: typeStringList},
		{key: keyArchivePaths, typ: typeStringList},
	}, commonCommandFields...),
	runsCommands: true,
	outputSecretSources: []resource.PropertyKey{
		keyCreate, keyUpdate, keyDelete, keyDir, keyEnvironment, keyInterpreter,
		keyTriggers, keyStdin, keyAssetPaths, keyArchivePaths,
	},
}

var remoteCommand = &resourceKind{
	token: "command:remote:Command",
	fields: append([]field{
		{key: keyConnection, typ: typeConnection, required: true},
	}, commonCommandFields...),
	runsCommands:        true,
	remote:              true,
	outputSecretSources: []resource.PropertyKey{keyCreate, keyUpdate},
}

var copyToRemote = &resourceKind{
	token: "command:remote:CopyToRemote",
	fields: []field{
		{key: keyConnection, typ: typeConnection, required: true},
		{key: keySource, typ: typeAssetOrArchive, required: true},
		{key: keyRemotePath, typ: typeString, required: true},
		{key: keyTriggers, typ: typeAny, replace: true},
	},
	remote: true,
}

// copyFile is the deprecated predecessor of CopyToRemote, still exported by the 1.2.1 SDK.
var copyFile = &resourceKind{
	token: "command:remote:CopyFile",
	fields: []field{
		{key: keyConnection, typ: typeConnection, required: true},
		{key: keyLocalPath, typ: typeString, required: true},
		{key: keyRemotePath, typ: typeString, required: true},
		{key: keyTriggers, typ: typeAny, replace: true},
	},
	remote: true,
}

var kindsByToken = map[tokens.Type]*resourceKind{
	localCommand.token:  localCommand,
	remoteCommand.token: remoteCommand,
	copyToRemote.token:  copyToRemote,
	copyFile.token:      copyFile,
}

// localRunFunction is the token of the `local.run` / `local.runOutput` invoke.
const localRunFunction tokens.ModuleMember = "command:local:run"

var localRunFields = []field{
	{key: keyCommand, typ: typeString, required: true},
	{key: keyDir, typ: typeString},
	{key: keyEnvironment, typ: typeStringMap},
	{key: keyInterpreter, typ: typeStringList},
	{key: keyStdin, typ: typeString},
	{key: keyLogging, typ: typeString},
	{key: keyAddPrevious, typ: typeBool},
	{key: keyAssetPaths, typ: typeStringList},
	{key: keyArchivePaths, typ: typeStringList},
}

// connectionFields are the properties of `connection` and of its `proxy`.
var connectionFields = []field{
	{key: "host", typ: typeString, required: true},
	{key: "port", typ: typeNumber},
	{key: "user", typ: typeString},
	{key: "password", typ: typeString},
	{key: "privateKey", typ: typeString},
	{key: "privateKeyPassword", typ: typeString},
	{key: "agentSocketPath", typ: typeString},
	{key: "dialErrorLimit", typ: typeNumber},
	{key: "perDialTimeout", typ: typeNumber},
	{key: "hostKey", typ: typeString},
}

// loggingModes are the values of the SDK's `Logging` enum.
var loggingModes = []string{"stdout", "stderr", "stdoutAndStderr", "none"}
