package main

import (
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// diffInputs compares a resource's previous inputs with its new ones, property by property.
//
// Every input matters: as in the real provider, changing any of them (even `delete` or
// `logging`) updates the resource, which re-runs `update`, or `create` when there is no
// `update`. A change to a replace-on-change input (`triggers`) replaces the resource instead.
// Values are compared as plaintext: wrapping an unchanged value in a secret is not a change.
// A value that is not known yet (preview) counts as a change, since it may well be one.
func diffInputs(kind *resourceKind, olds, news resource.PropertyMap, ignoreChanges []string) plugin.DiffResult {
	detailed := map[string]plugin.PropertyDiff{}
	var changed, replaced []resource.PropertyKey
	for _, f := range kind.fields {
		if slices.Contains(ignoreChanges, string(f.key)) {
			continue
		}
		diffKind, differs := diffProperty(olds[f.key], news[f.key])
		if !differs {
			continue
		}
		if f.replace {
			diffKind = diffKind.AsReplace()
			replaced = append(replaced, f.key)
		}
		changed = append(changed, f.key)
		detailed[string(f.key)] = plugin.PropertyDiff{Kind: diffKind, InputDiff: true}
	}
	if len(changed) == 0 {
		return plugin.DiffResult{Changes: plugin.DiffNone}
	}
	return plugin.DiffResult{
		Changes:      plugin.DiffSome,
		ChangedKeys:  changed,
		ReplaceKeys:  replaced,
		DetailedDiff: detailed,
	}
}

// diffProperty classifies the change of one property, if any.
func diffProperty(old, new resource.PropertyValue) (plugin.DiffKind, bool) {
	oldAbsent, newAbsent := isAbsent(old), isAbsent(new)
	switch {
	case oldAbsent && newAbsent:
		return 0, false
	case oldAbsent:
		return plugin.DiffAdd, true
	case newAbsent:
		return plugin.DiffDelete, true
	}
	o, n := plain(old), plain(new)
	if n.ContainsUnknowns() || !o.DeepEquals(n) {
		return plugin.DiffUpdate, true
	}
	return 0, false
}
