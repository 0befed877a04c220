package main

// Test fixtures, not moby: trees built from a description (with what Node
// cannot make: device nodes, sockets, xattrs, nanosecond times of symlinks)
// and manifests of trees, so that two extractions can be compared.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// hexBytes travels as a hex string.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) {
	return []byte(hex.EncodeToString(h)), nil
}

func (h *hexBytes) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	*h = b
	return err
}

// specEntry is one entry of a tree to build, parents before children.
type specEntry struct {
	Path  hexBytes `json:"path"`
	Type  string   `json:"type"` // dir file symlink hardlink fifo chr blk sock
	Mode  uint32   `json:"mode"` // permissions with setuid, setgid and sticky
	UID   int      `json:"uid"`
	GID   int      `json:"gid"`
	Mtime int64    `json:"mtime"`
	Nsec  int64    `json:"nsec"`
	// file: Size bytes generated from Seed; Sparse ones only hold data at both ends.
	Size   int64  `json:"size"`
	Seed   uint32 `json:"seed"`
	Sparse bool   `json:"sparse"`
	// symlink: the target; hardlink: the path linked to.
	Target hexBytes            `json:"target"`
	Major  uint32              `json:"major"`
	Minor  uint32              `json:"minor"`
	Xattrs map[string]hexBytes `json:"xattrs"`
}

func buildTree(root string, entries []specEntry) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	at := func(p []byte) string { return filepath.Join(root, string(p)) }
	for i := range entries {
		if err := create(root, at(entries[i].Path), &entries[i]); err != nil {
			return fmt.Errorf("%s %s: %w", entries[i].Type, at(entries[i].Path), err)
		}
	}
	// Owner, then mode (chown clears setuid bits), then xattrs (chown clears
	// security.capability); times last, children before their directories.
	for i := range entries {
		e := &entries[i]
		if e.Type == "hardlink" {
			continue
		}
		p := at(e.Path)
		if err := os.Lchown(p, e.UID, e.GID); err != nil {
			return err
		}
		if e.Type != "symlink" {
			if err := unix.Fchmodat(unix.AT_FDCWD, p, e.Mode, 0); err != nil {
				return fmt.Errorf("chmod %s: %w", p, err)
			}
		}
		for name, value := range e.Xattrs {
			if err := unix.Lsetxattr(p, name, value, 0); err != nil {
				return fmt.Errorf("setxattr %s %s: %w", p, name, err)
			}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := &entries[i]
		if e.Type == "hardlink" {
			continue
		}
		ts := unix.NsecToTimespec(0)
		ts.Sec, ts.Nsec = e.Mtime, e.Nsec
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, at(e.Path), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("utimes %s: %w", at(e.Path), err)
		}
	}
	return nil
}

func create(root, p string, e *specEntry) error {
	switch e.Type {
	case "dir":
		return os.Mkdir(p, 0o700)
	case "file":
		return writeContent(p, e)
	case "symlink":
		return os.Symlink(string(e.Target), p)
	case "hardlink":
		return os.Link(filepath.Join(root, string(e.Target)), p)
	case "fifo":
		return unix.Mkfifo(p, 0o600)
	case "chr":
		return unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(e.Major, e.Minor)))
	case "blk":
		return unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(e.Major, e.Minor)))
	case "sock":
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Bind(fd, &unix.SockaddrUnix{Name: p})
	}
	return fmt.Errorf("unknown entry type %q", e.Type)
}

// writeContent writes e.Size bytes of a xorshift stream seeded by e.Seed.
func writeContent(p string, e *specEntry) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	state := e.Seed | 1
	fill := func(b []byte) {
		for i := range b {
			state ^= state << 13
			state ^= state >> 17
			state ^= state << 5
			b[i] = byte(state)
		}
	}
	if e.Sparse {
		edge := make([]byte, 4096)
		fill(edge)
		err = f.Truncate(e.Size)
		if err == nil {
			_, err = f.WriteAt(edge, 0)
		}
		if err == nil {
			_, err = f.WriteAt(edge, e.Size-int64(len(edge)))
		}
	} else {
		chunk := make([]byte, 64<<10)
		for left := e.Size; left > 0 && err == nil; left -= int64(len(chunk)) {
			if left < int64(len(chunk)) {
				chunk = chunk[:left]
			}
			fill(chunk)
			_, err = f.Write(chunk)
		}
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// manifestEntry describes one entry of a tree: what an extraction must reproduce.
type manifestEntry struct {
	Path   hexBytes            `json:"path"`
	Type   string              `json:"type"`
	Mode   uint32              `json:"mode"`
	UID    uint32              `json:"uid"`
	GID    uint32              `json:"gid"`
	Mtime  int64               `json:"mtime"`
	Nsec   int64               `json:"nsec"`
	Size   int64               `json:"size"`
	Sha256 string              `json:"sha256,omitempty"`
	Target hexBytes            `json:"target,omitempty"`
	Rdev   []uint32            `json:"rdev,omitempty"`
	Xattrs map[string]hexBytes `json:"xattrs,omitempty"`
	// The first path of the tree, in walk order, with the same inode (non-directories).
	Inode hexBytes `json:"inode,omitempty"`
}

// manifest lists the entries below root, pre-order, names in bytewise order.
func manifest(root string) ([]manifestEntry, error) {
	var entries []manifestEntry
	firstPath := map[[2]uint64]hexBytes{}
	var walk func(rel string) error
	walk = func(rel string) error {
		dir, err := os.Open(filepath.Join(root, rel))
		if err != nil {
			return err
		}
		names, err := dir.Readdirnames(-1)
		dir.Close()
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			child := filepath.Join(rel, name)
			e, st, err := describe(filepath.Join(root, child), child)
			if err != nil {
				return err
			}
			if e.Type != "dir" {
				inode := [2]uint64{st.Dev, st.Ino}
				if _, seen := firstPath[inode]; !seen {
					firstPath[inode] = e.Path
				}
				e.Inode = firstPath[inode]
			}
			entries = append(entries, e)
			if e.Type == "dir" {
				if err := walk(child); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return entries, walk("")
}

func describe(p, rel string) (manifestEntry, *unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return manifestEntry{}, nil, err
	}
	e := manifestEntry{
		Path:  hexBytes(rel),
		Type:  typeName(st.Mode),
		Mode:  st.Mode & 0o7777,
		UID:   st.Uid,
		GID:   st.Gid,
		Mtime: st.Mtim.Sec,
		Nsec:  st.Mtim.Nsec,
	}
	var err error
	switch e.Type {
	case "file":
		e.Size = st.Size
		e.Sha256, err = hashFile(p)
	case "symlink":
		e.Size = st.Size
		var target string
		target, err = os.Readlink(p)
		e.Target = hexBytes(target)
	case "chr", "blk":
		e.Rdev = []uint32{unix.Major(st.Rdev), unix.Minor(st.Rdev)}
	}
	if err == nil {
		e.Xattrs, err = xattrs(p)
	}
	return e, &st, err
}

func typeName(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "dir"
	case syscall.S_IFREG:
		return "file"
	case syscall.S_IFLNK:
		return "symlink"
	case syscall.S_IFCHR:
		return "chr"
	case syscall.S_IFBLK:
		return "blk"
	case syscall.S_IFIFO:
		return "fifo"
	case syscall.S_IFSOCK:
		return "sock"
	}
	return "unknown"
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

func xattrs(p string) (map[string]hexBytes, error) {
	names := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, names)
	if err != nil || n == 0 {
		return nil, err
	}
	values := map[string]hexBytes{}
	for _, name := range bytesSplitNul(names[:n]) {
		value := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, value)
		if err != nil {
			return nil, fmt.Errorf("getxattr %s %s: %w", p, name, err)
		}
		values[name] = value[:m]
	}
	return values, nil
}

func bytesSplitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
