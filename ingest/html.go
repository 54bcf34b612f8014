package ingest

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// extractHTML renders an HTML page's visible text: headings as "#" lines,
// list items as "- " lines, table rows as "| a | b |" and block elements
// as paragraphs. Scripts, styles and the head (except the title) are left
// out.
func extractHTML(text string) (*Document, error) {
	root, err := html.Parse(strings.NewReader(text))
	if err != nil {
		return nil, unreadable(err, "cannot be parsed as HTML")
	}
	w := &htmlWriter{}
	w.walk(root)
	w.flush()
	return &Document{Title: w.title, Text: w.out.String()}, nil
}

// htmlWriter accumulates inline text and writes it out at block boundaries.
type htmlWriter struct {
	out    strings.Builder
	inline strings.Builder
	prefix string // what the pending line starts with ("# ", "- ")
	title  string
	lists  int      // depth of nested lists
	row    []string // cells of the table row being read, when in one
	rows   int      // rows written in the current table
	pre    int      // depth of <pre> elements
	cell   *strings.Builder
	term   string // the <dt> waiting for its <dd>
}

// skipped are elements whose content is never visible text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Iframe: true, atom.Object: true,
}

// htmlBlocks are elements that end the line before and after them.
var htmlBlocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Main: true, atom.Nav: true,
	atom.Aside: true, atom.Blockquote: true, atom.Figure: true,
	atom.Figcaption: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.Ul: true, atom.Ol: true, atom.Address: true, atom.Form: true,
	atom.Fieldset: true, atom.Details: true, atom.Summary: true,
	atom.Caption: true, atom.Hr: true, atom.Body: true,
}

var headingLevels = map[atom.Atom]int{
	atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6,
}

func (w *htmlWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		w.children(n)
		return
	}

	switch a := n.DataAtom; {
	case skipped[a]:
	case a == atom.Head:
		w.head(n)
	case headingLevels[a] > 0:
		w.flush()
		w.prefix = strings.Repeat("#", headingLevels[a]) + " "
		w.children(n)
		w.flush()
	case a == atom.Li:
		w.flush()
		w.prefix = strings.Repeat("  ", max(w.lists-1, 0)) + "- "
		w.children(n)
		w.flush()
	case a == atom.Ul || a == atom.Ol:
		w.flush()
		w.lists++
		w.children(n)
		w.lists--
		w.flush()
		w.out.WriteString("\n")
	case a == atom.Table:
		w.table(n)
	case a == atom.Tr:
		w.tableRow(n)
	case a == atom.Td || a == atom.Th:
		w.tableCell(n)
	case a == atom.Dt:
		w.flush()
		w.children(n)
		w.term = strings.TrimSpace(w.inline.String())
		w.inline.Reset()
	case a == atom.Dd:
		w.flush()
		if w.term != "" {
			w.prefix, w.term = w.term+": ", ""
		}
		w.children(n)
		w.flush()
	case a == atom.Br:
		w.flush()
	case a == atom.Pre:
		w.flush()
		w.pre++
		w.children(n)
		w.pre--
		w.flush()
	case htmlBlocks[a]:
		w.flush()
		w.children(n)
		w.flush()
	default:
		w.children(n)
	}
}

func (w *htmlWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

// head reads the title and skips everything else in <head>.
func (w *htmlWriter) head(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.DataAtom == atom.Title && c.FirstChild != nil && w.title == "" {
			w.title = strings.Join(strings.Fields(c.FirstChild.Data), " ")
		}
	}
}

// text adds a text node to the pending line (or cell), collapsing white
// space outside <pre>.
func (w *htmlWriter) text(s string) {
	dst := &w.inline
	if w.cell != nil {
		dst = w.cell
	}
	if w.pre > 0 && w.cell == nil {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.flush()
			}
			dst.WriteString(line)
		}
		return
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		if s != "" && dst.Len() > 0 {
			dst.WriteString(" ")
		}
		return
	}
	if startsSpace(s) && dst.Len() > 0 {
		dst.WriteString(" ")
	}
	dst.WriteString(strings.Join(fields, " "))
	if endsSpace(s) {
		dst.WriteString(" ")
	}
}

func startsSpace(s string) bool { return strings.TrimLeft(s, " \t\n\r\f") != s }
func endsSpace(s string) bool   { return strings.TrimRight(s, " \t\n\r\f") != s }

// table writes a table's rows, then a paragraph break.
func (w *htmlWriter) table(n *html.Node) {
	w.flush()
	savedRows := w.rows
	w.rows = 0
	w.children(n)
	w.rows = savedRows
	w.out.WriteString("\n")
}

// tableRow collects a row's cells and writes them as one line; the first
// row of a table is followed by a header rule.
func (w *htmlWriter) tableRow(n *html.Node) {
	w.flush()
	saved := w.row
	w.row = []string{}
	w.children(n)
	if len(w.row) > 0 {
		writeRow(&w.out, w.row)
		if w.rows == 0 {
			writeRule(&w.out, len(w.row))
		}
		w.rows++
	}
	w.row = saved
}

// tableCell reads one cell's text into the current row.
func (w *htmlWriter) tableCell(n *html.Node) {
	if w.row == nil { // a cell outside any row
		w.children(n)
		return
	}
	saved := w.cell
	w.cell = &strings.Builder{}
	w.children(n)
	w.row = append(w.row, strings.TrimSpace(w.cell.String()))
	w.cell = saved
}

// flush writes the pending line, if any, as its own paragraph.
func (w *htmlWriter) flush() {
	line := w.inline.String()
	if w.pre == 0 {
		line = strings.TrimSpace(line)
	}
	w.inline.Reset()
	prefix := w.prefix
	w.prefix = ""
	if strings.TrimSpace(line) == "" {
		return
	}
	w.out.WriteString(prefix + line + "\n")
	if w.pre == 0 && !strings.HasSuffix(strings.TrimSpace(prefix), "-") {
		w.out.WriteString("\n")
	}
}
