package main

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

func TestDiffInputs(t *testing.T) {
	base := func() resource.PropertyMap {
		return props(map[string]any{
			"create":                 "echo hi",
			"delete":                 "echo bye",
			"environment":            map[string]any{"A": "1"},
			"triggers":               []any{"t1", 2.0},
			"addPreviousOutputInEnv": true,
		})
	}
	with := func(k string, v resource.PropertyValue) resource.PropertyMap {
		m := base()
		m[resource.PropertyKey(k)] = v
		return m
	}
	without := func(k string) resource.PropertyMap {
		m := base()
		delete(m, resource.PropertyKey(k))
		return m
	}

	tests := []struct {
		name     string
		olds     resource.PropertyMap
		news     resource.PropertyMap
		ignore   []string
		changes  plugin.DiffChanges
		detailed map[string]plugin.DiffKind
		replaces []resource.PropertyKey
	}{
		{name: "identical inputs", olds: base(), news: base(), changes: plugin.DiffNone},
		{
			name: "null and missing are the same", olds: base(),
			news: with("update", resource.NewNullProperty()), changes: plugin.DiffNone,
		},
		{
			name: "wrapping a value in a secret is not a change", olds: base(),
			news:    with("environment", resource.MakeSecret(resource.NewPropertyValue(map[string]any{"A": "1"}))),
			changes: plugin.DiffNone,
		},
		{
			name: "new create command updates", olds: base(), news: with("create", resource.NewStringProperty("echo ho")),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"create": plugin.DiffUpdate},
		},
		{
			name: "a changed delete command alone still updates", olds: base(),
			news:    with("delete", resource.NewStringProperty("echo ciao")),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"delete": plugin.DiffUpdate},
		},
		{
			name: "added update command", olds: base(), news: with("update", resource.NewStringProperty("echo up")),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"update": plugin.DiffAdd},
		},
		{
			name: "removed environment", olds: base(), news: without("environment"),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"environment": plugin.DiffDelete},
		},
		{
			name: "changed trigger replaces", olds: base(), news: with("triggers", resource.NewPropertyValue([]any{"t2", 2.0})),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffUpdateReplace},
			replaces: []resource.PropertyKey{"triggers"},
		},
		{
			name: "added triggers replace", olds: without("triggers"), news: base(),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffAddReplace},
			replaces: []resource.PropertyKey{"triggers"},
		},
		{
			name: "unknown create during preview counts as a change", olds: base(), news: with("create", unknown()),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"create": plugin.DiffUpdate},
		},
		{
			name: "unknown trigger element replaces", olds: base(),
			news:    with("triggers", resource.NewArrayProperty([]resource.PropertyValue{unknown()})),
			changes: plugin.DiffSome, detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffUpdateReplace},
			replaces: []resource.PropertyKey{"triggers"},
		},
		{
			name: "ignoreChanges hides a change", olds: base(), news: with("create", resource.NewStringProperty("x")),
			ignore: []string{"create"}, changes: plugin.DiffNone,
		},
		{
			name: "outputs in the old map are not inputs", olds: with("stdout", resource.NewStringProperty("old")),
			news: base(), changes: plugin.DiffNone,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := diffInputs(localCommand, tc.olds, tc.news, tc.ignore)
			if got.Changes != tc.changes {
				t.Fatalf("Changes = %v, want %v (detailed %v)", got.Changes, tc.changes, got.DetailedDiff)
			}
			if len(got.DetailedDiff) != len(tc.detailed) {
				t.Fatalf("DetailedDiff = %v, want %v", got.DetailedDiff, tc.detailed)
			}
			for k, want := range tc.detailed {
				if got.DetailedDiff[k].Kind != want {
					t.Errorf("DetailedDiff[%s] = %v, want %v", k, got.DetailedDiff[k].Kind, want)
				}
			}
			if !slices.Equal(got.ReplaceKeys, tc.replaces) {
				t.Errorf("ReplaceKeys = %v, want %v", got.ReplaceKeys, tc.replaces)
			}
		})
	}
}

func TestDiffRemoteConnectionChangeUpdates(t *testing.T) {
	olds := props(map[string]any{"create": "x", "connection": map[string]any{"host": "10.0.0.1", "port": 22.0}})
	news := props(map[string]any{"create": "x", "connection": map[string]any{"host": "10.0.0.2", "port": 22.0}})
	news[keyConnection] = resource.MakeSecret(news[keyConnection])
	got := diffInputs(remoteCommand, olds, news, nil)
	if got.Changes != plugin.DiffSome || got.DetailedDiff["connection"].Kind != plugin.DiffUpdate {
		t.Fatalf("got %+v, want an update of connection", got)
	}
}
