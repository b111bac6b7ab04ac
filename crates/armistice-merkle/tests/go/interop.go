// Interop witness for armistice-merkle, run by tests/go_interop.rs when Go is
// installed: golang.org/x/mod/sumdb/note signs and verifies notes, and
// golang.org/x/mod/sumdb/tlog builds a tree of "entry <i>" leaves and prints
// its root, proofs and the tiles of that size (paths and SHA-256 of their
// contents). It needs Debian's golang-go and golang-golang-x-mod-dev, run
// with GOPATH=/usr/share/gocode GO111MODULE=off.
//
// Usage: go run interop.go SKEY VKEY BODY_B64 NOTE_B64 SIZE
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func hashes(list []tlog.Hash) string {
	parts := make([]string, len(list))
	for i, h := range list {
		parts[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return strings.Join(parts, ",")
}

func main() {
	skey, vkey := os.Args[1], os.Args[2]
	body, err := base64.StdEncoding.DecodeString(os.Args[3])
	must(err)
	rustNote, err := base64.StdEncoding.DecodeString(os.Args[4])
	must(err)
	size, err := strconv.ParseInt(os.Args[5], 10, 64)
	must(err)

	signer, err := note.NewSigner(skey)
	must(err)
	signed, err := note.Sign(&note.Note{Text: string(body)}, signer)
	must(err)
	fmt.Printf("note %s\n", base64.StdEncoding.EncodeToString(signed))

	verifier, err := note.NewVerifier(vkey)
	must(err)
	if _, err := note.Open(rustNote, note.VerifierList(verifier)); err != nil {
		fmt.Printf("verified error: %v\n", err)
	} else {
		fmt.Println("verified ok")
	}

	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, index := range indexes {
			out[i] = stored[index]
		}
		return out, nil
	})
	for i := int64(0); i < size; i++ {
		more, err := tlog.StoredHashes(i, []byte(fmt.Sprintf("entry %d", i)), reader)
		must(err)
		stored = append(stored, more...)
	}
	root, err := tlog.TreeHash(size, reader)
	must(err)
	fmt.Printf("root %s\n", base64.StdEncoding.EncodeToString(root[:]))
	for _, index := range []int64{0, size / 3, size - 1} {
		proof, err := tlog.ProveRecord(size, index, reader)
		must(err)
		fmt.Printf("inclusion %d %s\n", index, hashes(proof))
	}
	for _, old := range []int64{1, size / 2, size - 1, size} {
		proof, err := tlog.ProveTree(size, old, reader)
		must(err)
		fmt.Printf("consistency %d %s\n", old, hashes(proof))
	}
	for _, tile := range tlog.NewTiles(8, 0, size) {
		// NewTiles also lists the partial tiles of every size on the way;
		// keep the tiles of the tree of this size only.
		width := (size >> (8 * uint(tile.L))) - tile.N*256
		if width > 256 {
			width = 256
		}
		if int64(tile.W) != width {
			continue
		}
		data, err := tlog.ReadTileData(tile, reader)
		must(err)
		digest := sha256.Sum256(data)
		fmt.Printf("tile %s %s\n", tile.Path(), hex.EncodeToString(digest[:]))
	}
}
