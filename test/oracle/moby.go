package main

// The calls Docker 20.10's aufs driver (daemon/graphdriver/aufs/aufs.go)
// makes for Diff, Changes, DiffSize and ApplyDiff, with the options it
// passes (no id maps: a daemon without user namespaces).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	"github.com/docker/docker/pkg/archive"
	"github.com/docker/docker/pkg/chrootarchive"
	"github.com/docker/docker/pkg/directory"
)

// mobyTar writes Driver.Diff's archive of the layer directory `dir` to
// `out`: its first `limit` bytes when limit is above 0, the rest unread.
func mobyTar(dir, out string, limit int64) (size int64, digest string, err error) {
	tar, err := archive.TarWithOptions(dir, &archive.TarOptions{
		Compression:     archive.Uncompressed,
		ExcludePatterns: []string{archive.WhiteoutMetaPrefix + "*", "!" + archive.WhiteoutOpaqueDir},
	})
	if err != nil {
		return 0, "", err
	}
	defer tar.Close()
	file, err := os.Create(out)
	if err != nil {
		return 0, "", err
	}
	hash := sha256.New()
	if limit > 0 {
		size, err = io.CopyN(io.MultiWriter(file, hash), tar, limit)
	} else {
		size, err = io.Copy(io.MultiWriter(file, hash), tar)
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	return size, hex.EncodeToString(hash.Sum(nil)), err
}

type change struct {
	Path hexBytes `json:"path"`
	Kind string   `json:"kind"`
}

// mobyChanges is Driver.Changes: `layers` are the parents' diff directories, nearest first.
func mobyChanges(layers []string, rw string) ([]change, error) {
	changes, err := archive.Changes(layers, rw)
	if err != nil {
		return nil, err
	}
	out := make([]change, len(changes))
	for i, c := range changes {
		out[i] = change{Path: hexBytes(c.Path), Kind: c.Kind.String()}
	}
	return out, nil
}

// mobySize is Driver.DiffSize.
func mobySize(dir string) (int64, error) {
	return directory.Size(context.Background(), dir)
}

// mobyUntar is Driver.ApplyDiff's extraction (before it answers with DiffSize):
// whiteouts are written as the files they are.
func mobyUntar(tar, dest string) error {
	file, err := os.Open(tar)
	if err != nil {
		return err
	}
	defer file.Close()
	return chrootarchive.UntarUncompressed(file, dest, &archive.TarOptions{})
}
