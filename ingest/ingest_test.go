package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"attune"
)

func TestExtract(t *testing.T) {
	docx := makeDOCX(t,
		wpara("Title", false, "Elements")+
			wpara("Heading2", false, "Iron")+
			wpara("", false, "Iron is a metal.")+
			wpara("", true, "Symbol: Fe")+
			wpara("", true, "Atomic number: 26")+
			`<w:tbl><w:tr><w:tc>`+wpara("", false, "Name")+`</w:tc><w:tc>`+wpara("", false, "Symbol")+`</w:tc></w:tr>`+
			`<w:tr><w:tc>`+wpara("", false, "Gold")+`</w:tc><w:tc>`+wpara("", false, "Au")+`</w:tc></w:tr></w:tbl>`)
	pdfBytes := makePDF(t, []string{"Helium is a noble gas.", "Its symbol is He.", "", "Second paragraph (with parentheses)."})

	tests := []struct {
		name     string
		filename string
		data     []byte
		title    string
		encoding string
		want     string
	}{{
		name: "plain text with title", filename: "a.TXT",
		data:  []byte("Hydrogen\r\n\r\nHydrogen is the lightest element.\r\n\r\n\r\nIt is a gas.   \n"),
		title: "Hydrogen", encoding: "utf-8",
		want: "Hydrogen\n\nHydrogen is the lightest element.\n\nIt is a gas.",
	}, {
		name: "utf-8 with byte order mark", filename: "a.txt",
		data:  []byte("\xEF\xBB\xBFCafé au lait."),
		title: "", encoding: "utf-8",
		want: "Café au lait.",
	}, {
		name: "utf-16 little endian", filename: "a.txt",
		data:     encodeUTF16("Ünïcode text.\nSecond line.", false),
		encoding: "utf-16le",
		want:     "Ünïcode text.\nSecond line.",
	}, {
		name: "utf-16 big endian", filename: "a.md",
		data:  encodeUTF16("# Título\n\nTexto.", true),
		title: "Título", encoding: "utf-16be",
		want: "# Título\n\nTexto.",
	}, {
		name: "latin-1 falls back to windows-1252", filename: "a.txt",
		data:     []byte("Caf\xe9 cr\xe8me \x93quoted\x94."),
		encoding: "windows-1252",
		want:     "Café crème “quoted”.",
	}, {
		name: "markdown setext headings", filename: "a.md",
		data:  []byte("Guide\n=====\n\nIntro.\n\nPart\n----\n\n- one\n- two\n"),
		title: "Guide", encoding: "utf-8",
		want: "# Guide\n\nIntro.\n\n## Part\n\n- one\n- two",
	}, {
		name: "json object and array", filename: "a.json",
		data:     []byte(`{"name": "Iron", "symbol": "Fe", "number": 26, "isotopes": [54, 56], "meta": {"source": "db"}}`),
		encoding: "utf-8",
		want:     "name: Iron\nsymbol: Fe\nnumber: 26\nisotopes:\n  - 54\n  - 56\nmeta:\n  source: db",
	}, {
		name: "json array of records", filename: "a.json",
		data:     []byte(`[{"question": "Q1?", "answer": "A1"}, {"question": "Q2?", "answer": "A2"}]`),
		encoding: "utf-8",
		want:     "question: Q1?\nanswer: A1\n\nquestion: Q2?\nanswer: A2",
	}, {
		name: "jsonl", filename: "a.jsonl",
		data:     []byte("{\"text\": \"first\"}\n\n{\"text\": \"second\\nline\"}\n"),
		encoding: "utf-8",
		want:     "text: first\n\ntext: second line",
	}, {
		name: "csv with quotes", filename: "a.csv",
		data:     []byte("Name,Symbol,Note\nIron,Fe,\"metal, common\"\nGold,Au,a|b\n"),
		encoding: "utf-8",
		want:     "| Name | Symbol | Note |\n| --- | --- | --- |\n| Iron | Fe | metal, common |\n| Gold | Au | a\\|b |",
	}, {
		name: "semicolon csv", filename: "a.csv",
		data:     []byte("a;b\n1;2\n"),
		encoding: "utf-8",
		want:     "| a | b |\n| --- | --- |\n| 1 | 2 |",
	}, {
		name: "xml", filename: "a.xml",
		data: []byte(`<?xml version="1.0"?><elements xmlns="urn:x"><element number="26"><name>Iron</name><symbol>Fe</symbol>` +
			`<description>` + strings.Repeat("A long description. ", 8) + `</description></element></elements>`),
		encoding: "utf-8",
		want:     "number: 26\nname: Iron\nsymbol: Fe\n" + strings.TrimSpace(strings.Repeat("A long description. ", 8)),
	}, {
		name: "html", filename: "a.html",
		data: []byte(`<!DOCTYPE html><html><head><title>Page  title</title><style>p{}</style>` +
			`<script>var x = 1;</script></head><body><h1>Main</h1><p>Some <b>bold</b> text,` +
			"\n   wrapped.</p><ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul>" +
			`<table><tr><th>Name</th><th>Symbol</th></tr><tr><td>Iron</td><td>Fe</td></tr></table>` +
			`<h2>Sub</h2><p>End<br>line</p><dl><dt>APT</dt><dd>the package tool</dd></dl></body></html>`),
		title: "Page title", encoding: "utf-8",
		want: "# Main\n\nSome bold text, wrapped.\n\n- one\n- two\n  - inner\n\n" +
			"| Name | Symbol |\n| --- | --- |\n| Iron | Fe |\n\n## Sub\n\nEnd\n\nline\n\nAPT: the package tool",
	}, {
		name: "docx", filename: "a.docx", data: docx,
		title: "Elements",
		want: "# Elements\n\n## Iron\n\nIron is a metal.\n\n- Symbol: Fe\n- Atomic number: 26\n\n" +
			"| Name | Symbol |\n| --- | --- |\n| Gold | Au |",
	}, {
		name: "pdf", filename: "a.pdf", data: pdfBytes,
		want: "Helium is a noble gas.\nIts symbol is He.\n\nSecond paragraph (with parentheses).",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Extract(tt.filename, tt.data)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if doc.Text != tt.want {
				t.Errorf("text:\ngot  %q\nwant %q", doc.Text, tt.want)
			}
			if doc.Title != tt.title {
				t.Errorf("title: got %q, want %q", doc.Title, tt.title)
			}
			if doc.Encoding != tt.encoding {
				t.Errorf("encoding: got %q, want %q", doc.Encoding, tt.encoding)
			}
			if got, want := doc.Format, FormatOf(tt.filename); got != want {
				t.Errorf("format: got %q, want %q", got, want)
			}
		})
	}
}

func TestExtractRejects(t *testing.T) {
	pdfBytes := makePDF(t, []string{"Some text."})
	tests := []struct {
		name     string
		filename string
		data     []byte
		want     string // in the message
	}{
		{"unsupported type", "a.exe", []byte("MZ"), `a.exe has an unsupported file type ".exe"`},
		{"no extension", "README", []byte("text"), "unsupported file type"},
		{"empty file", "a.txt", nil, "a.txt is empty"},
		{"only white space", "a.md", []byte(" \n\t\n"), "a.md contains no text"},
		{"binary renamed to txt", "photo.txt", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "photo.txt looks like binary data, not text"},
		{"control-heavy binary", "a.csv", []byte(strings.Repeat("\x01\x02\x03abc", 50)), "looks like binary data"},
		{"bad json", "a.json", []byte(`{"a": 1,}`), "a.json is not valid JSON"},
		{"trailing json", "a.json", []byte(`{"a": 1} {"b": 2}`), "is not valid JSON"},
		{"bad jsonl line", "a.jsonl", []byte("{\"a\": 1}\n{oops}\n"), "is not valid JSON Lines: line 2"},
		{"bad xml", "a.xml", []byte("<a><b></a>"), "is not well-formed XML"},
		{"xml without root", "a.xml", []byte("just text"), "is not XML"},
		{"docx that is not a zip", "a.docx", []byte("PK but not really a zip"), "is not a valid DOCX file"},
		{"zip without document", "a.docx", docxRenamedPart(t), "has no word/document.xml"},
		{"docx without text", "a.docx", makeDOCX(t, wpara("", false, "")), "contains no text"},
		{"not a pdf", "a.pdf", []byte("hello"), "is not a PDF"},
		{"truncated pdf", "a.pdf", pdfBytes[:len(pdfBytes)/2], "is not a readable PDF"},
		{"pdf without text", "a.pdf", makePDF(t, nil), "has no text layer"},
		{"pdf page tree containing itself", "a.pdf", pdfFile([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
		}), "its page tree is damaged"},
		{"pdf page that is its own parent", "a.pdf", pdfFile([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 3 0 R >>",
		}), "its page tree is damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(tt.filename, tt.data)
			if err == nil {
				t.Fatal("Extract succeeded, want an error")
			}
			if got := attune.ErrorKind(err); got != attune.KindInvalid {
				t.Errorf("kind: got %v, want invalid (%v)", got, err)
			}
			if got := attune.ErrorMessage(err); !strings.Contains(got, tt.want) {
				t.Errorf("message: got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func docxRenamedPart(t *testing.T) []byte {
	t.Helper()
	d := makeDOCX(t, "")
	// Rewrite the archive's only part name so that document.xml is missing.
	return []byte(strings.ReplaceAll(string(d), "word/document.xml", "word/documant.xml"))
}

// TestExtractCorpora reads every shipped corpus document.
func TestExtractCorpora(t *testing.T) {
	paths, err := filepath.Glob("../testdata/corpora/*/documents/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus documents found: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Extract(filepath.Base(p), data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		// Every document has a title line except the element corpus's
		// collection of other entries, which starts with a sentence.
		if hasTitle := !strings.HasPrefix(filepath.Base(p), "000-"); (doc.Title != "") != hasTitle {
			t.Errorf("%s: title %q, want one: %v", p, doc.Title, hasTitle)
		}
	}
}
