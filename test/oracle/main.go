// The test oracle: what Docker 20.10's aufs driver computes for a layer,
// computed by moby's own packages (Debian's golang-github-docker-docker-dev,
// unmodified), plus the fixture work the tests cannot do from Node (device
// nodes, xattrs, nanosecond times) and manifests of trees.
//
// Requests come one JSON object a line on stdin, answers one a line on
// stdout, in order, so that one process serves a whole batch of trees:
//
//	{"op":"build","dir":D,"entries":[...]}    makes the tree (tree.go)
//	{"op":"manifest","dir":D}                 describes the tree below D
//	{"op":"tar","dir":D,"tar":F,"limit":N}    moby's Diff of layer D (its first N bytes), written to F
//	{"op":"changes","dir":RW,"layers":[...]}  moby's Changes of RW over its parents
//	{"op":"size","dir":D}                     moby's DiffSize of D
//	{"op":"untar","tar":F,"dir":D}            moby's ApplyDiff extraction of F into D
//
// Paths inside trees travel as hex: names need not be UTF-8. An answer is
// {"error":...} when the operation failed, and carries what moby logged
// ("log"), which is how it reports the entries it leaves out of a tar.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/docker/docker/pkg/reexec"
	"github.com/sirupsen/logrus"
)

type request struct {
	Op      string      `json:"op"`
	Dir     string      `json:"dir"`
	Tar     string      `json:"tar"`
	Limit   int64       `json:"limit"`
	Layers  []string    `json:"layers"`
	Entries []specEntry `json:"entries"`
}

type response struct {
	Error   string          `json:"error,omitempty"`
	Log     string          `json:"log,omitempty"`
	Size    *int64          `json:"size,omitempty"`
	Sha256  string          `json:"sha256,omitempty"`
	Changes []change        `json:"changes,omitempty"`
	Entries []manifestEntry `json:"entries,omitempty"`
}

func main() {
	// chrootarchive extracts in a re-executed copy of this program.
	if reexec.Init() {
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(out)
	for in.Scan() {
		var req request
		var res response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res.Error = err.Error()
		} else {
			res = serve(&req)
		}
		if err := encoder.Encode(&res); err != nil {
			fatal(err)
		}
		if err := out.Flush(); err != nil {
			fatal(err)
		}
	}
	if err := in.Err(); err != nil {
		fatal(err)
	}
}

func serve(req *request) response {
	var log bytes.Buffer
	logrus.SetOutput(&log)
	var res response
	var err error
	switch req.Op {
	case "build":
		err = buildTree(req.Dir, req.Entries)
	case "manifest":
		res.Entries, err = manifest(req.Dir)
	case "tar":
		var size int64
		size, res.Sha256, err = mobyTar(req.Dir, req.Tar, req.Limit)
		res.Size = &size
	case "changes":
		res.Changes, err = mobyChanges(req.Layers, req.Dir)
	case "size":
		var size int64
		size, err = mobySize(req.Dir)
		res.Size = &size
	case "untar":
		err = mobyUntar(req.Tar, req.Dir)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Log = log.String()
	return res
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "moby-oracle:", err)
	os.Exit(1)
}
