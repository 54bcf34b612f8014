package main

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"attune/api"
)

// TestServeBigUpload uploads two files just over the size up to which the
// server reads a file's text while the client waits: a Markdown document
// the ingestion job reads instead, and binary bytes named .txt, which the
// job refuses. The upload is taken (200); the first ends READY, the second
// FAILED saying why, and neither affects the other.
func TestServeBigUpload(t *testing.T) {
	ts := startServer(t, api.Config{})
	const size = 9 << 20 // over api's 8 MiB check limit, under the 100 MB file limit

	words := strings.Fields("hydrogen helium lithium beryllium boron carbon nitrogen oxygen element atomic number weight symbol gas metal")
	r := rand.New(rand.NewPCG(1, 2))
	var md strings.Builder
	for section := 1; md.Len() < size; section++ {
		md.WriteString("## Section " + strings.Repeat("I", section%7+1) + "\n\n")
		for range 120 {
			md.WriteString(words[r.IntN(len(words))] + " ")
		}
		md.WriteString("\n\n")
	}
	bin := make([]byte, size)
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}

	a := ts.upload(ts.alice, map[string]string{"big.md": md.String(), "noise.txt": string(bin)}).want(t, 200, "upload of two 9 MiB files")
	tasks, _ := a.get("document_ids").([]any)
	if len(tasks) != 2 {
		t.Fatalf("upload answer: %s", a.raw)
	}
	byStatus := map[string]answer{}
	for _, task := range tasks {
		st := ts.poll("/api/v3/documents/"+task.(string), ts.alice, time.Minute, func(a answer) bool {
			return a.str("status") != "PROCESSING"
		})
		byStatus[st.str("status")] = st
	}
	ready, failed := byStatus["READY"], byStatus["FAILED"]
	if ready.raw == nil || failed.raw == nil {
		t.Fatalf("want one READY and one FAILED document, got %v", byStatus)
	}
	doc := ts.call("GET", "/api/v3/documents?limit=10", ts.alice, nil).want(t, 200, "document list")
	if !strings.Contains(string(doc.raw), `"size":`+strconv.Itoa(md.Len())) {
		t.Errorf("the list does not show big.md's %d bytes: %s", md.Len(), doc.raw)
	}
	if reason := failed.str("error"); !strings.Contains(reason, "noise.txt") || !strings.Contains(reason, "binary") {
		t.Errorf("the binary file failed with %q, want a reason naming it and saying it is binary", reason)
	}
}
