package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// logEntry is one message the provider sent to the (fake) engine.
type logEntry struct {
	sev       diag.Severity
	urn       resource.URN
	msg       string
	ephemeral bool
}

// recordingSink stands in for the engine's log service.
type recordingSink struct {
	mu      sync.Mutex
	entries []logEntry
}

func (s *recordingSink) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) {
	s.add(logEntry{sev, urn, msg, false})
}

func (s *recordingSink) LogStatus(_ context.Context, sev diag.Severity, urn resource.URN, msg string) {
	s.add(logEntry{sev, urn, msg, true})
}

func (s *recordingSink) add(e logEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
}

// lines returns the messages logged for a resource, in order.
func (s *recordingSink) lines(urn resource.URN) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entries {
		if e.urn == urn {
			out = append(out, e.msg)
		}
	}
	return out
}

func (s *recordingSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, e := range s.entries {
		b.WriteString(e.msg)
		b.WriteByte('\n')
	}
	return b.String()
}

const testURN resource.URN = "urn:pulumi:dev::proj::command:local:Command::cmd"
const testRemoteURN resource.URN = "urn:pulumi:dev::proj::command:remote:Command::cmd"

func newTestProvider() (*provider, *recordingSink) {
	sink := &recordingSink{}
	return newProvider(sink, "1.2.1"), sink
}

// props builds a property map from plain Go values.
func props(m map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(m)
}

func secret(v any) resource.PropertyValue {
	return resource.MakeSecret(resource.NewPropertyValue(v))
}

func unknown() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

// checked runs inputs through Check, as the engine does before every other call.
func checked(t *testing.T, p *provider, typ *resourceKind, news resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	resp, err := p.Check(context.Background(), plugin.CheckRequest{Type: typ.token, News: news})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(resp.Failures) > 0 {
		t.Fatalf("Check failures: %+v", resp.Failures)
	}
	return resp.Properties
}

func create(t *testing.T, p *provider, kind *resourceKind, urn resource.URN, inputs resource.PropertyMap) (plugin.CreateResponse, error) {
	t.Helper()
	return p.Create(context.Background(), plugin.CreateRequest{
		URN: urn, Name: urn.Name(), Type: kind.token, Properties: checked(t, p, kind, inputs),
	})
}

func mustCreate(t *testing.T, p *provider, kind *resourceKind, urn resource.URN, inputs resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	resp, err := create(t, p, kind, urn, inputs)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return resp.Properties
}

func str(t *testing.T, m resource.PropertyMap, k resource.PropertyKey) string {
	t.Helper()
	v := plain(m[k])
	if !v.IsString() {
		t.Fatalf("property %s is %s, not a string", k, v.TypeString())
	}
	return v.StringValue()
}
