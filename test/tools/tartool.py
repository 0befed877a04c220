"""Test helper: trees and tars made with Python's os and tarfile.

  tartool.py extract TAR DEST    extract TAR into DEST with tarfile, as root would
  tartool.py mknodes             read JSON ops on stdin: mknod, mkfifo, socket, setxattr

Paths are str with surrogateescape for bytes that are not UTF-8 (JSON keeps
them as lone surrogates).
"""
import json
import os
import socket
import stat
import sys
import tarfile


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
    if command == "extract":
        extract(sys.argv[2], sys.argv[3])
    elif command == "mknodes":
        mknodes(json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
