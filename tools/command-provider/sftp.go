package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
)

// uploadSFTP copies src to remotePath with the real provider's rules:
//
//	source     | remote is a directory | remote missing | remote is a file
//	-----------|-----------------------|----------------|-----------------
//	dir        | remote/dir            | remote/dir     | error
//	dir/       | remote/<each entry>   | remote/<each>  | error
//	file       | remote/file           | remote         | overwritten
//	text       | error                 | remote         | overwritten
func uploadSFTP(ctx context.Context, conn *connectionSpec, src copySource, remotePath string, status func(string)) error {
	client, err := dialSSH(ctx, conn, status)
	if err != nil {
		return err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { _ = client.Close() })
	defer stop()

	sc, err := sftp.NewClient(client.Client)
	if err != nil {
		return fmt.Errorf("starting SFTP (is the sftp subsystem enabled on the server?): %w", err)
	}
	defer sc.Close()

	dest, err := remoteStat(sc, remotePath)
	if err != nil {
		return err
	}
	if src.isText {
		if dest != nil && dest.IsDir() {
			return fmt.Errorf("%s is a directory; a StringAsset needs a file path", remotePath)
		}
		return writeRemote(sc, remotePath, strings.NewReader(src.text))
	}

	info, err := os.Stat(src.path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		target := remotePath
		if dest != nil && dest.IsDir() {
			target = path.Join(remotePath, filepath.Base(src.path))
		}
		status(fmt.Sprintf("copying %s", src.path))
		return copyLocalFile(sc, src.path, target)
	}
	if dest != nil && !dest.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", remotePath)
	}
	if dest == nil {
		if err := sc.Mkdir(remotePath); err != nil {
			return fmt.Errorf("creating directory %s: %w", remotePath, err)
		}
	}
	target := remotePath
	if !strings.HasSuffix(src.path, "/") {
		target = path.Join(remotePath, filepath.Base(src.path))
	}
	return copyLocalDir(ctx, sc, src.path, target, status)
}

// remoteStat returns nil, nil when the path does not exist.
func remoteStat(sc *sftp.Client, p string) (fs.FileInfo, error) {
	info, err := sc.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", p, err)
	}
	return info, nil
}

func copyLocalDir(ctx context.Context, sc *sftp.Client, src, dst string, status func(string)) error {
	return fs.WalkDir(os.DirFS(src), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		target := path.Join(dst, rel)
		if !d.IsDir() {
			status(fmt.Sprintf("copying %s", rel))
			return copyLocalFile(sc, filepath.Join(src, filepath.FromSlash(rel)), target)
		}
		info, err := remoteStat(sc, target)
		switch {
		case err != nil:
			return err
		case info == nil:
			if err := sc.Mkdir(target); err != nil {
				return fmt.Errorf("creating directory %s: %w", target, err)
			}
		case !info.IsDir():
			return fmt.Errorf("%s exists and is not a directory", target)
		}
		return nil
	})
}

func copyLocalFile(sc *sftp.Client, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeRemote(sc, dst, f)
}

func writeRemote(sc *sftp.Client, dst string, content interface{ Read([]byte) (int, error) }) error {
	remote, err := sc.Create(dst)
	if err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	if _, err := remote.ReadFrom(content); err != nil {
		_ = remote.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return remote.Close()
}
