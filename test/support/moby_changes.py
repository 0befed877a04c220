#!/usr/bin/env python3
"""Test oracle: moby's archive.Changes(layers, rw) for aufs layers
(pkg/archive/changes.go with aufsMetadataSkip, aufsDeletedFile and the
GH13590 parent insertion), restated in Python from its documented behaviour.
Usage: moby_changes.py RW [LAYER...]; prints one "C|A|D PATH" per line.
It keeps moby's faults (os.Stat follows symlinks, parent whiteouts ignored),
so callers only compare on trees where those do not matter."""
import fnmatch
import os
import stat
import sys


def same_fs_time(a, b):
    # Exact, or the same second with either side lacking nanoseconds.
    return a == b or (a // 10**9 == b // 10**9 and (a % 10**9 == 0 or b % 10**9 == 0))


def walk(top):
    """filepath.Walk: lstat, pre-order, names sorted bytewise, root included."""
    yield top, os.lstat(top)
    st = os.lstat(top)
    if stat.S_ISDIR(st.st_mode):
        for name in sorted(os.listdir(os.fsencode(top))):
            yield from walk(os.path.join(top, os.fsdecode(name)))


def changes(layers, rw):
    result, changed_dirs = [], set()
    for full, st in walk(rw):
        path = '/' + os.path.relpath(full, rw) if full != rw else '/'
        if path == '/':
            continue
        if fnmatch.fnmatchcase(path, '/.wh..wh.*') and path.count('/') == 1:
            continue
        base = os.path.basename(path)
        if base.startswith('.wh.'):
            kind, change_path = 'D', os.path.join(os.path.dirname(path), base[4:])
        else:
            kind, change_path = 'A', path
            skip = False
            for layer in layers:
                try:
                    old = os.stat(layer + path)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(old.st_mode) and stat.S_ISDIR(st.st_mode):
                    if (old.st_size == st.st_size and old.st_mode == st.st_mode
                            and same_fs_time(old.st_mtime_ns, st.st_mtime_ns)):
                        skip = True
                kind = 'C'
                break
            if skip:
                continue
        if stat.S_ISDIR(st.st_mode):
            changed_dirs.add(path)
        if kind in ('A', 'D'):
            parent = os.path.dirname(path)
            if parent not in changed_dirs and parent != '/':
                result.append(('C', parent))
                changed_dirs.add(parent)
        result.append((kind, change_path))
    return result


if __name__ == '__main__':
    for kind, path in changes(sys.argv[2:], sys.argv[1]):
        print(kind, path)
