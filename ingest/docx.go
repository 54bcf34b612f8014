package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxDOCXPart bounds how much of a DOCX's main part is decompressed, so that
// a small zip cannot expand without limit.
const maxDOCXPart = 64 << 20

// extractDOCX reads a Word document: paragraphs in Heading styles become
// "#" headings, numbered or bulleted paragraphs list items and table rows
// "| a | b |" lines.
func extractDOCX(data []byte) (*Document, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, unreadable(err, "is not a valid DOCX file (it is not a zip archive)")
	}
	var part *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			part = f
		}
	}
	if part == nil {
		return nil, unreadable(nil, "is not a valid DOCX file (it has no word/document.xml)")
	}
	rc, err := part.Open()
	if err != nil {
		return nil, unreadable(err, "is not a valid DOCX file")
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxDOCXPart+1))
	if err != nil {
		return nil, unreadable(err, "is not a valid DOCX file (its document part is damaged)")
	}
	if len(body) > maxDOCXPart {
		return nil, unreadable(nil, "is too large: its text part is over %d MiB uncompressed", maxDOCXPart>>20)
	}
	return readWordXML(body)
}

// wordReader holds the state of one pass over word/document.xml.
type wordReader struct {
	out      strings.Builder
	para     strings.Builder // text of the paragraph being read
	heading  int             // its heading level, 0 for none
	listItem bool            // whether it is numbered or bulleted
	cell     []string        // paragraphs of the table cell being read
	row      []string        // cells of the table row being read
	rows     []int           // rows written, one counter per open table
	title    string
}

func readWordXML(body []byte) (*Document, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	w := &wordReader{}
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, unreadable(err, "is not a valid DOCX file (its document part is not well-formed XML)")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inText = t.Name.Local == "t"
			w.start(t)
		case xml.EndElement:
			inText = false
			w.end(t.Name.Local)
		case xml.CharData:
			if inText {
				w.para.Write(t)
			}
		}
	}
	return &Document{Title: w.title, Text: w.out.String()}, nil
}

func (w *wordReader) start(t xml.StartElement) {
	switch t.Name.Local {
	case "p":
		w.para.Reset()
		w.heading, w.listItem = 0, false
	case "pStyle":
		w.heading = headingStyle(attr(t, "val"))
	case "numPr":
		w.listItem = true
	case "tab":
		w.para.WriteString("\t")
	case "br", "cr":
		w.para.WriteString(" ")
	case "tbl":
		w.out.WriteString("\n")
		w.rows = append(w.rows, 0)
	case "tr":
		w.row = []string{}
	case "tc":
		w.cell = []string{}
	}
}

func (w *wordReader) end(name string) {
	switch name {
	case "p":
		w.endParagraph()
	case "tc":
		if w.row != nil {
			w.row = append(w.row, strings.Join(w.cell, " "))
		}
		w.cell = nil
	case "tr":
		if len(w.row) > 0 && len(w.rows) > 0 {
			writeRow(&w.out, w.row)
			if w.rows[len(w.rows)-1] == 0 {
				writeRule(&w.out, len(w.row))
			}
			w.rows[len(w.rows)-1]++
		}
		w.row = nil
	case "tbl":
		if len(w.rows) > 0 {
			w.rows = w.rows[:len(w.rows)-1]
		}
		w.out.WriteString("\n")
	}
}

// endParagraph writes the paragraph just read, or adds it to its cell.
func (w *wordReader) endParagraph() {
	text := strings.Join(strings.Fields(w.para.String()), " ")
	w.para.Reset()
	switch {
	case text == "":
	case w.cell != nil:
		w.cell = append(w.cell, text)
	case w.heading > 0:
		if w.title == "" {
			w.title = text
		}
		w.out.WriteString("\n" + strings.Repeat("#", w.heading) + " " + text + "\n\n")
	case w.listItem:
		w.out.WriteString("- " + text + "\n")
	default:
		w.out.WriteString("\n" + text + "\n\n")
	}
}

// headingStyle returns the heading level of a paragraph style id: "Title"
// is 1, "Heading1".."Heading6" (and "heading 2" spellings) their number,
// anything else 0.
func headingStyle(style string) int {
	s := strings.ToLower(strings.ReplaceAll(style, " ", ""))
	if s == "title" {
		return 1
	}
	if n, ok := strings.CutPrefix(s, "heading"); ok {
		if level, err := strconv.Atoi(n); err == nil && level >= 1 && level <= 6 {
			return level
		}
	}
	return 0
}

// attr returns the value of the attribute with the given local name.
func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
