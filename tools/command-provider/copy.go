package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// createCopy copies the source to the remote host (CopyToRemote, CopyFile).
func (p *provider) createCopy(ctx context.Context, kind *resourceKind, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	id := uniqueID(req.Name)
	if req.Preview {
		return plugin.CreateResponse{ID: id, Properties: req.Properties.Copy()}, nil
	}
	if err := p.copyToHost(ctx, kind, req.URN, req.Properties); err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: id, Properties: req.Properties.Copy(), Status: resource.StatusOK}, nil
}

// updateCopy copies again only when the content or the destination changed, as the real
// provider does; a new connection alone (say, a rotated key) copies nothing.
func (p *provider) updateCopy(ctx context.Context, kind *resourceKind, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	if req.Preview {
		return plugin.UpdateResponse{Properties: req.NewInputs.Copy()}, nil
	}
	moved := func(k resource.PropertyKey) bool {
		_, differs := diffProperty(req.OldOutputs[k], req.NewInputs[k])
		return differs
	}
	if moved(keySource) || moved(keyLocalPath) || moved(keyRemotePath) {
		if err := p.copyToHost(ctx, kind, req.URN, req.NewInputs); err != nil {
			return plugin.UpdateResponse{}, err
		}
	}
	return plugin.UpdateResponse{Properties: req.NewInputs.Copy(), Status: resource.StatusOK}, nil
}

// copyToHost resolves what to copy and where, then uploads it over SFTP.
func (p *provider) copyToHost(ctx context.Context, kind *resourceKind, urn resource.URN, props resource.PropertyMap) error {
	ctx, done := p.begin(ctx)
	defer done()

	r := &propReader{props: props}
	remotePath := r.str(keyRemotePath)
	var conn *connectionSpec
	if obj, ok := r.object(keyConnection); ok {
		inner := &propReader{props: obj}
		conn = decodeConnection(inner, true)
		if inner.err != nil {
			return inner.err
		}
	}
	if r.err != nil {
		return r.err
	}
	if conn == nil {
		return errors.New("the connection is missing")
	}

	var src copySource
	if kind == copyFile {
		src.path = r.str(keyLocalPath)
	} else {
		var err error
		if src, err = sourceOf(plain(props[keySource])); err != nil {
			return err
		}
	}
	status := func(msg string) { p.sink.LogStatus(ctx, diag.Info, urn, msg) }
	if err := uploadSFTP(ctx, conn, src, remotePath, status); err != nil {
		return fmt.Errorf("copying to %s:%s: %w", conn.Host, remotePath, err)
	}
	return nil
}

// copySource is either local file-system content (a file or a directory) or literal text.
type copySource struct {
	path   string
	text   string
	isText bool
}

// sourceOf accepts what the real provider accepts: a FileAsset, a StringAsset or a FileArchive
// (a directory, or an archive file copied as-is, not unpacked).
func sourceOf(v resource.PropertyValue) (copySource, error) {
	switch {
	case v.IsAsset() && v.AssetValue().IsPath():
		return copySource{path: v.AssetValue().Path}, nil
	case v.IsAsset() && v.AssetValue().IsText():
		return copySource{text: v.AssetValue().Text, isText: true}, nil
	case v.IsArchive() && v.ArchiveValue().IsPath():
		return copySource{path: v.ArchiveValue().Path}, nil
	default:
		return copySource{}, fmt.Errorf("source must be a FileAsset, a StringAsset or a FileArchive, not %s", v.TypeString())
	}
}
