package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gobwas/glob"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// addAssets fills the `assets` and `archive` outputs of a local command from its assetPaths
// and archivePaths globs, matched against the files under the command's directory.
func addAssets(outs resource.PropertyMap, spec commandSpec) error {
	if spec.AssetPaths == nil && spec.ArchivePaths == nil {
		return nil
	}
	dir := spec.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = wd
	}
	if spec.AssetPaths != nil {
		assets, err := globAssets(dir, spec.AssetPaths)
		if err != nil {
			return fmt.Errorf("collecting assetPaths: %w", err)
		}
		obj := resource.PropertyMap{}
		for path, a := range assets {
			obj[resource.PropertyKey(path)] = resource.NewAssetProperty(a)
		}
		outs[keyAssets] = resource.NewObjectProperty(obj)
	}
	if spec.ArchivePaths != nil {
		assets, err := globAssets(dir, spec.ArchivePaths)
		if err != nil {
			return fmt.Errorf("collecting archivePaths: %w", err)
		}
		members := map[string]any{}
		for path, a := range assets {
			members[path] = a
		}
		archive, err := resource.NewAssetArchive(members)
		if err != nil {
			return fmt.Errorf("building the archive: %w", err)
		}
		outs[keyArchive] = resource.NewArchiveProperty(archive)
	}
	return nil
}

// globAssets returns the files under dir that the patterns select, keyed by their slash-separated
// path relative to dir. Patterns apply in order; a leading "!" excludes what earlier ones matched.
// `*` does not cross "/", `**` does.
func globAssets(dir string, patterns []string) (map[string]*resource.Asset, error) {
	type rule struct {
		g       glob.Glob
		exclude bool
	}
	rules := make([]rule, 0, len(patterns))
	for _, p := range patterns {
		exclude := strings.HasPrefix(p, "!")
		g, err := glob.Compile(strings.TrimPrefix(p, "!"), '/')
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		rules = append(rules, rule{g: g, exclude: exclude})
	}

	found := map[string]*resource.Asset{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, r := range rules {
			if !r.g.Match(path) {
				continue
			}
			if r.exclude {
				delete(found, path)
				continue
			}
			a, err := resource.NewPathAsset(filepath.Join(dir, filepath.FromSlash(path)))
			if err != nil {
				return err
			}
			found[path] = a
		}
		return nil
	})
	return found, err
}
