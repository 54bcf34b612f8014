package ingest

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ledongthuc/pdf"
)

// maxPDFPages bounds the pages read from one PDF.
const maxPDFPages = 5000

// extractPDF reads the text of a PDF page by page with
// github.com/ledongthuc/pdf, rebuilding lines from glyph positions: glyphs on
// one baseline form a line, a gap wider than a fraction of the font size is
// a space, and a vertical gap wider than one and a half lines a paragraph
// break. Pages are separated by a blank line. Encrypted PDFs and PDFs whose
// pages hold no text (scans) are refused with a reason.
func extractPDF(data []byte) (doc *Document, err error) {
	// The library reports some malformed input by panicking; a damaged
	// upload must fail its own task, not the process.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, unreadable(fmt.Errorf("%v", r), "is not a readable PDF (the file is damaged)")
		}
	}()

	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\n\r "), []byte("%PDF")) {
		return nil, unreadable(nil, "is not a PDF (it does not start with %%PDF)")
	}
	if err := checkPDFSizes(data); err != nil {
		return nil, err
	}
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if strings.Contains(err.Error(), "encrypt") || strings.Contains(err.Error(), "password") {
			return nil, unreadable(nil, "is an encrypted PDF; remove the password and upload it again")
		}
		return nil, unreadable(err, "is not a readable PDF (the file is damaged)")
	}

	pages, err := pageList(r.Trailer().Key("Root").Key("Pages"))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, p := range pages {
		b.WriteString(pageText(p.Content().Text))
		b.WriteString("\n\n")
	}
	if strings.TrimSpace(b.String()) == "" {
		return nil, unreadable(nil, "has no text layer (it may be a scan); only PDFs with text can be read")
	}
	return &Document{Text: b.String()}, nil
}

// maxPageTreeDepth bounds the nesting of the page tree and of each page's
// chain of parents; real files nest a few levels.
const maxPageTreeDepth = 64

// pageList returns the pages of a page tree in order. It walks the tree
// itself rather than through the library's Page, which loops forever on a
// tree that contains itself: depth and the number of nodes visited are
// bounded, and a page whose parents do not end is refused, because the
// library follows that chain without limit when it looks up resources.
func pageList(root pdf.Value) ([]pdf.Page, error) {
	var pages []pdf.Page
	visits := 0
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		visits++
		if depth > maxPageTreeDepth || visits > 4*maxPDFPages {
			return unreadable(nil, "is not a readable PDF (its page tree is damaged)")
		}
		switch v.Key("Type").Name() {
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
		case "Page":
			if len(pages) == maxPDFPages {
				return unreadable(nil, "has more than the %d pages accepted", maxPDFPages)
			}
			if !parentsEnd(v) {
				return unreadable(nil, "is not a readable PDF (its page tree is damaged)")
			}
			pages = append(pages, pdf.Page{V: v})
		}
		return nil
	}
	return pages, walk(root, 0)
}

// parentsEnd reports whether the chain of Parent links from v ends within
// maxPageTreeDepth steps.
func parentsEnd(v pdf.Value) bool {
	for range maxPageTreeDepth {
		v = v.Key("Parent")
		if v.IsNull() {
			return true
		}
	}
	return false
}

// pageText rebuilds the lines of one page from its glyphs.
func pageText(glyphs []pdf.Text) string {
	lines := groupLines(glyphs)
	var b strings.Builder
	prevY, prevSize := math.NaN(), 0.0
	for _, line := range lines {
		y, size := line[0].Y, line[0].FontSize
		if !math.IsNaN(prevY) && prevY-y > 1.5*max(size, prevSize, 1)*1.2 {
			b.WriteString("\n")
		}
		b.WriteString(joinGlyphs(line) + "\n")
		prevY, prevSize = y, size
	}
	return b.String()
}

// groupLines sorts glyphs top to bottom into lines of similar baseline,
// each line left to right.
func groupLines(glyphs []pdf.Text) [][]pdf.Text {
	g := make([]pdf.Text, 0, len(glyphs))
	for _, t := range glyphs {
		if t.S != "" && !math.IsNaN(t.X) && !math.IsNaN(t.Y) {
			g = append(g, t)
		}
	}
	sort.SliceStable(g, func(i, j int) bool { return g[i].Y > g[j].Y })

	var lines [][]pdf.Text
	for _, t := range g {
		tol := max(t.FontSize, 1) * 0.4
		if n := len(lines); n > 0 && math.Abs(lines[n-1][0].Y-t.Y) <= tol {
			lines[n-1] = append(lines[n-1], t)
			continue
		}
		lines = append(lines, []pdf.Text{t})
	}
	for _, l := range lines {
		sort.SliceStable(l, func(i, j int) bool { return l[i].X < l[j].X })
	}
	return lines
}

// joinGlyphs concatenates a line's glyphs, inserting a space where the gap
// after a glyph exceeds 15% of the font size.
func joinGlyphs(line []pdf.Text) string {
	var b strings.Builder
	end := math.Inf(-1)
	for _, t := range line {
		if t.X-end > 0.15*max(t.FontSize, 1) && b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
			b.WriteString(" ")
		}
		b.WriteString(t.S)
		end = t.X + t.W
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
