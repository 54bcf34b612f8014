package ingest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"attune"
)

// fuzzExtract checks the properties every extraction must keep, whatever the
// input: no panic, an error is a KindInvalid attune.Error, and a document
// has tidy, valid UTF-8 text that chunks back into itself.
func fuzzExtract(t *testing.T, filename string, data []byte) {
	doc, err := Extract(filename, data)
	if err != nil {
		if k := attune.ErrorKind(err); k != attune.KindInvalid {
			t.Fatalf("error kind %v, want invalid: %v", k, err)
		}
		return
	}
	if !utf8.ValidString(doc.Text) || strings.TrimSpace(doc.Text) == "" {
		t.Fatalf("text is empty or not UTF-8: %q", doc.Text)
	}
	for _, c := range Split("doc", doc, ChunkOptions{MaxTokens: 16, Overlap: 4}) {
		if c.Text != doc.Text[c.StartByte:c.EndByte] {
			t.Fatalf("chunk %d text does not match its byte range", c.Index)
		}
		if c.Tokens > 16 {
			t.Fatalf("chunk %d has %d tokens, over 16", c.Index, c.Tokens)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"Title\n\nBody.", "\xff\xfeh\x00i\x00", "\xfe\xff\x00h", "caf\xe9", "\x00\x01", "# A\n\n- b\n| c |"} {
		f.Add("a.txt", []byte(s))
	}
	f.Add("a.md", []byte("Guide\n===\n```\ncode\n```\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if !strings.HasSuffix(name, ".md") {
			name = "a.txt"
		}
		fuzzExtract(t, name, data)
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": null}], "c": "d"}`), false)
	f.Add([]byte("{\"a\": 1}\n[2]\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, lines bool) {
		name := "a.json"
		if lines {
			name = "a.jsonl"
		}
		fuzzExtract(t, name, data)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b\n\"1,2\",3\n"))
	f.Add([]byte("a;b;c\n1\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "a.csv", data) })
}

func FuzzXML(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><a x="1"><b>t</b><c><d>long</d></c></a>`))
	f.Add([]byte(`<a><![CDATA[x]]><!-- c --></a>`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "a.xml", data) })
}

func FuzzHTML(f *testing.F) {
	f.Add([]byte(`<h1>T</h1><p>x<table><tr><td>a<td>b</table><ul><li>i<ol><li>j</ol></ul><pre>a
 b</pre>`))
	f.Add([]byte(`<td>orphan</td><th>cell<tr>`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "a.html", data) })
}

func FuzzDOCX(f *testing.F) {
	f.Add(makeDOCX(f, wpara("Heading1", false, "H")+wpara("", true, "item")+
		`<w:tbl><w:tr><w:tc>`+wpara("", false, "c")+`</w:tc></w:tr></w:tbl>`))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "a.docx", data) })
}

// FuzzPDF fuzzes the PDF reader. Minimising a new input runs it many times
// and can take the default minute on a busy machine; run it with
// -fuzzminimizetime=5s to keep the fuzzer moving.
func FuzzPDF(f *testing.F) {
	f.Add(makePDF(f, []string{"Hello (world).", "", "Next."}))
	f.Add([]byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "a.pdf", data) })
}

// TestPDFMutations feeds the PDF reader thousands of damaged copies of a
// valid PDF (bytes replaced, ranges deleted or duplicated, huge numbers
// inserted), deterministically, so that the damage the fuzzer found once
// stays covered in every plain test run.
func TestPDFMutations(t *testing.T) {
	base := makePDF(t, []string{"Hello (world).", "", "Next line."})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		d := append([]byte(nil), base...)
		for range 1 + rng.IntN(4) {
			p := rng.IntN(len(d))
			switch rng.IntN(4) {
			case 0:
				d[p] = byte(rng.IntN(256))
			case 1:
				d = append(d[:p:p], d[min(len(d), p+rng.IntN(40)):]...)
			case 2:
				q := rng.IntN(len(d))
				dup := append([]byte(nil), d[q:min(len(d), q+rng.IntN(40))]...)
				d = append(d[:p:p], append(dup, d[p:]...)...)
			case 3:
				d = append(d[:p:p], append([]byte("99999999999"), d[p:]...)...)
			}
		}
		fuzzExtract(t, "a.pdf", d)
	}
}
