package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// checkInputs validates a resource's or function's inputs and fills in provider-side defaults.
// Unknown values (during previews) pass: they are checked again once they are known. Secret
// markers are kept, so the engine goes on treating those values as secret.
func checkInputs(fields []field, news resource.PropertyMap) (resource.PropertyMap, []plugin.CheckFailure) {
	out := news.Copy()
	var failures []plugin.CheckFailure
	for _, f := range fields {
		v, present := news[f.key]
		if !present || isAbsent(v) {
			if f.required {
				failures = append(failures, plugin.CheckFailure{
					Property: f.key,
					Reason:   fmt.Sprintf("missing required property '%s'", f.key),
				})
			}
			if f.key == keyAddPrevious {
				// The real provider's schema defaults this to true; storing it keeps state alike.
				out[f.key] = resource.NewBoolProperty(true)
			}
			continue
		}
		if reason := checkValue(f.key, f.typ, plain(v)); reason != "" {
			failures = append(failures, plugin.CheckFailure{Property: f.key, Reason: reason})
		}
	}
	return out, failures
}

// checkValue returns why v does not fit typ, or "" if it does (or is not known yet).
func checkValue(key resource.PropertyKey, typ valueType, v resource.PropertyValue) string {
	if v.IsComputed() || v.IsNull() {
		return ""
	}
	switch typ {
	case typeString:
		if !v.IsString() {
			return mismatch(key, "a string", v)
		}
		if key == keyLogging && !slices.Contains(loggingModes, v.StringValue()) {
			return fmt.Sprintf("property '%s' is %q; it must be one of %s", key, v.StringValue(),
				strings.Join(loggingModes, ", "))
		}
	case typeBool:
		if !v.IsBool() {
			return mismatch(key, "a boolean", v)
		}
	case typeNumber:
		if !v.IsNumber() {
			return mismatch(key, "a number", v)
		}
	case typeStringList:
		if !v.IsArray() {
			return mismatch(key, "a list of strings", v)
		}
		for i, e := range v.ArrayValue() {
			if !e.IsComputed() && !e.IsString() {
				return mismatch(resource.PropertyKey(fmt.Sprintf("%s[%d]", key, i)), "a string", e)
			}
		}
	case typeStringMap:
		if !v.IsObject() {
			return mismatch(key, "a map of strings", v)
		}
		for k, e := range v.ObjectValue() {
			if !e.IsComputed() && !e.IsString() {
				return mismatch(resource.PropertyKey(fmt.Sprintf("%s.%s", key, k)), "a string", e)
			}
		}
	case typeConnection:
		return checkConnection(key, v, true)
	case typeAssetOrArchive:
		if !v.IsAsset() && !v.IsArchive() {
			return mismatch(key, "an asset or an archive", v)
		}
	case typeAny:
	}
	return ""
}

func checkConnection(key resource.PropertyKey, v resource.PropertyValue, allowProxy bool) string {
	if !v.IsObject() {
		return mismatch(key, "an object", v)
	}
	obj := v.ObjectValue()
	var reasons []string
	for _, f := range connectionFields {
		path := resource.PropertyKey(fmt.Sprintf("%s.%s", key, f.key))
		fv, ok := obj[f.key]
		if !ok || fv.IsNull() {
			if f.required {
				reasons = append(reasons, fmt.Sprintf("missing required property '%s'", path))
			}
			continue
		}
		if reason := checkValue(path, f.typ, fv); reason != "" {
			reasons = append(reasons, reason)
		}
	}
	if proxy, ok := obj["proxy"]; ok && !proxy.IsNull() && !proxy.IsComputed() {
		if !allowProxy {
			reasons = append(reasons, fmt.Sprintf("property '%s.proxy' is not supported on a proxy", key))
		} else if reason := checkConnection(key+".proxy", proxy, false); reason != "" {
			reasons = append(reasons, reason)
		}
	}
	return strings.Join(reasons, "; ")
}

func mismatch(key resource.PropertyKey, want string, got resource.PropertyValue) string {
	return fmt.Sprintf("property '%s' must be %s, not %s", key, want, got.TypeString())
}
