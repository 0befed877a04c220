"""Test helper: independent views of trees and tars, with Python's os and tarfile.

  tartool.py snapshot DIR        JSON description of every entry below DIR
  tartool.py extract TAR DEST    extract TAR into DEST with tarfile, as root would
  tartool.py mknodes             read JSON ops on stdin: mknod, mkfifo, socket, setxattr

Paths are str with surrogateescape for bytes that are not UTF-8 (JSON keeps
them as lone surrogates).
"""
import hashlib
import json
import os
import socket
import stat
import sys
import tarfile


def snapshot(root):
    """Every entry below root, pre-order, siblings in bytewise order."""
    entries = []
    walk(root, "", entries)
    return entries


def walk(root, prefix, entries):
    names = sorted(os.listdir(os.path.join(root, prefix) if prefix else root), key=os.fsencode)
    for name in names:
        rel = os.path.join(prefix, name) if prefix else name
        full = os.path.join(root, rel)
        st = os.lstat(full)
        entry = {
            "path": rel,
            "type": kind(st.st_mode),
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "mtime": st.st_mtime_ns // 1_000_000_000,
            "xattrs": {
                attr: os.getxattr(full, attr, follow_symlinks=False).hex()
                for attr in sorted(os.listxattr(full, follow_symlinks=False))
            },
        }
        if stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                entry["sha256"] = hashlib.sha256(f.read()).hexdigest()
            entry["size"] = st.st_size
        if stat.S_ISLNK(st.st_mode):
            entry["target"] = os.readlink(full)
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            entry["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        if not stat.S_ISDIR(st.st_mode):
            entry["inode"] = f"{st.st_dev}:{st.st_ino}"
        entries.append(entry)
        if stat.S_ISDIR(st.st_mode):
            walk(root, rel, entries)


def kind(mode):
    for test, name in ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "sock")):
        if test(mode):
            return name
    return "unknown"


def extract(tar_path, dest):
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, numeric_owner=True, filter="fully_trusted")


def mknodes(ops):
    for op in ops:
        path = op["path"]
        if op["op"] == "mknod":
            kind_bits = stat.S_IFCHR if op["kind"] == "chr" else stat.S_IFBLK
            os.mknod(path, kind_bits | op["mode"], os.makedev(op["major"], op["minor"]))
        elif op["op"] == "mkfifo":
            os.mkfifo(path, op["mode"])
        elif op["op"] == "socket":
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(path)
            sock.close()
        elif op["op"] == "setxattr":
            os.setxattr(path, op["name"], bytes.fromhex(op["value"]), follow_symlinks=False)
        else:
            raise ValueError(op["op"])


def main():
    command = sys.argv[1]
    if command == "snapshot":
        json.dump(snapshot(sys.argv[2]), sys.stdout)
    elif command == "extract":
        extract(sys.argv[2], sys.argv[3])
    elif command == "mknodes":
        mknodes(json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
