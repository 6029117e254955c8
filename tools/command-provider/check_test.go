package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestCheckInputs(t *testing.T) {
	tests := []struct {
		name   string
		kind   *resourceKind
		news   resource.PropertyMap
		failOn []resource.PropertyKey
		reason string
	}{
		{name: "minimal local command", kind: localCommand, news: props(map[string]any{"create": "true"})},
		{
			name: "unknowns pass", kind: localCommand,
			news: resource.PropertyMap{"create": unknown(), "environment": unknown(), "interpreter": unknown()},
		},
		{
			name: "secret environment passes", kind: localCommand,
			news: resource.PropertyMap{"environment": resource.MakeSecret(resource.NewPropertyValue(map[string]any{"K": "v"}))},
		},
		{
			name: "create must be a string", kind: localCommand, news: props(map[string]any{"create": 3.0}),
			failOn: []resource.PropertyKey{"create"}, reason: "must be a string",
		},
		{
			name: "environment values must be strings", kind: localCommand,
			news:   props(map[string]any{"environment": map[string]any{"N": 1.0}}),
			failOn: []resource.PropertyKey{"environment"}, reason: "environment.N",
		},
		{
			name: "logging must be one of the enum values", kind: localCommand,
			news:   props(map[string]any{"logging": "loud"}),
			failOn: []resource.PropertyKey{"logging"}, reason: "stdoutAndStderr",
		},
		{
			name: "remote command needs a connection", kind: remoteCommand, news: props(map[string]any{"create": "x"}),
			failOn: []resource.PropertyKey{"connection"}, reason: "missing required property 'connection'",
		},
		{
			name: "connection needs a host", kind: remoteCommand,
			news:   props(map[string]any{"connection": map[string]any{"port": 22.0}}),
			failOn: []resource.PropertyKey{"connection"}, reason: "connection.host",
		},
		{
			name: "proxy needs a host too", kind: remoteCommand,
			news:   props(map[string]any{"connection": map[string]any{"host": "h", "proxy": map[string]any{"user": "u"}}}),
			failOn: []resource.PropertyKey{"connection"}, reason: "connection.proxy.host",
		},
		{
			name: "copy needs a source", kind: copyToRemote,
			news:   props(map[string]any{"connection": map[string]any{"host": "h"}, "remotePath": "/tmp/x"}),
			failOn: []resource.PropertyKey{"source"}, reason: "missing required property 'source'",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, failures := checkInputs(tc.kind.fields, tc.news)
			if len(failures) != len(tc.failOn) {
				t.Fatalf("failures = %+v, want failures on %v", failures, tc.failOn)
			}
			for i, f := range failures {
				if f.Property != tc.failOn[i] || !strings.Contains(f.Reason, tc.reason) {
					t.Errorf("failure %d = %+v, want property %s with reason containing %q", i, f, tc.failOn[i], tc.reason)
				}
			}
		})
	}
}

func TestCheckDefaultsAddPreviousOutputInEnvAndKeepsSecrets(t *testing.T) {
	news := resource.PropertyMap{"create": secret("echo $X")}
	got, _ := checkInputs(localCommand.fields, news)
	if v := got[keyAddPrevious]; !v.IsBool() || !v.BoolValue() {
		t.Errorf("addPreviousOutputInEnv = %v, want true", v)
	}
	if !got[keyCreate].IsSecret() {
		t.Errorf("create lost its secret marker: %v", got[keyCreate])
	}
	explicit, _ := checkInputs(localCommand.fields, props(map[string]any{"addPreviousOutputInEnv": false}))
	if explicit[keyAddPrevious].BoolValue() {
		t.Errorf("an explicit false was overridden")
	}
}
