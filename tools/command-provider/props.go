package main

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// plain strips secret and output wrappers, recursively: what a command needs is the plaintext.
// Secrecy is tracked separately, on the properties we hand back to the engine.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		out := v.OutputValue()
		if !out.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return plain(out.Element)
	case v.IsArray():
		elems := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			elems[i] = plain(e)
		}
		return resource.NewArrayProperty(elems)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = plain(e)
		}
		return resource.NewObjectProperty(obj)
	default:
		return v
	}
}

// isAbsent reports whether a property is missing or null once secrets are stripped; the SDK
// sends `undefined` inputs either way, and the two must compare equal.
func isAbsent(v resource.PropertyValue) bool {
	return plain(v).IsNull()
}

// propReader reads typed, plaintext values out of a fully known property map, remembering the
// first type mismatch so callers can check one error at the end.
type propReader struct {
	props resource.PropertyMap
	err   error
}

func (r *propReader) fail(key resource.PropertyKey, want string, got resource.PropertyValue) {
	if r.err == nil {
		r.err = fmt.Errorf("property %q: expected %s, got %s", key, want, got.TypeString())
	}
}

func (r *propReader) value(key resource.PropertyKey) (resource.PropertyValue, bool) {
	v, ok := r.props[key]
	if !ok {
		return v, false
	}
	v = plain(v)
	if v.IsNull() {
		return v, false
	}
	if v.ContainsUnknowns() {
		if r.err == nil {
			r.err = fmt.Errorf("property %q is not known yet", key)
		}
		return v, false
	}
	return v, true
}

func (r *propReader) str(key resource.PropertyKey) string {
	v, ok := r.value(key)
	if !ok {
		return ""
	}
	if !v.IsString() {
		r.fail(key, "a string", v)
		return ""
	}
	return v.StringValue()
}

func (r *propReader) boolean(key resource.PropertyKey, def bool) bool {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	if !v.IsBool() {
		r.fail(key, "a boolean", v)
		return def
	}
	return v.BoolValue()
}

func (r *propReader) number(key resource.PropertyKey, def float64) float64 {
	v, ok := r.value(key)
	if !ok {
		return def
	}
	if !v.IsNumber() {
		r.fail(key, "a number", v)
		return def
	}
	return v.NumberValue()
}

func (r *propReader) strList(key resource.PropertyKey) []string {
	v, ok := r.value(key)
	if !ok {
		return nil
	}
	if !v.IsArray() {
		r.fail(key, "a list of strings", v)
		return nil
	}
	out := make([]string, 0, len(v.ArrayValue()))
	for _, e := range v.ArrayValue() {
		if !e.IsString() {
			r.fail(key, "a list of strings", v)
			return nil
		}
		out = append(out, e.StringValue())
	}
	return out
}

func (r *propReader) strMap(key resource.PropertyKey) map[string]string {
	v, ok := r.value(key)
	if !ok {
		return nil
	}
	if !v.IsObject() {
		r.fail(key, "a map of strings", v)
		return nil
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if !e.IsString() {
			r.fail(key, "a map of strings", v)
			return nil
		}
		out[string(k)] = e.StringValue()
	}
	return out
}

func (r *propReader) object(key resource.PropertyKey) (resource.PropertyMap, bool) {
	v, ok := r.value(key)
	if !ok {
		return nil, false
	}
	if !v.IsObject() {
		r.fail(key, "an object", v)
		return nil, false
	}
	return v.ObjectValue(), true
}

// secretStrings lists the plaintext of every string held inside a secret, longest first, so that
// log lines and error messages can be scrubbed of them. Very short values are left out: masking
// every "1" or "on" in a command's output would make it unreadable and protect nothing.
func secretStrings(props resource.PropertyMap) []string {
	seen := map[string]bool{}
	var walk func(v resource.PropertyValue, inSecret bool)
	walk = func(v resource.PropertyValue, inSecret bool) {
		switch {
		case v.IsSecret():
			walk(v.SecretValue().Element, true)
		case v.IsOutput():
			walk(v.OutputValue().Element, inSecret || v.OutputValue().Secret)
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e, inSecret)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e, inSecret)
			}
		case v.IsString() && inSecret && len(v.StringValue()) >= 4:
			seen[v.StringValue()] = true
		}
	}
	for _, v := range props {
		walk(v, false)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
