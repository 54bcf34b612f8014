package ingest

import (
	"fmt"
	"path/filepath"
	"strings"

	"attune"
)

// Document is the text extracted from one file.
type Document struct {
	// Format is the file type: the extension without its dot, lower case.
	Format string

	// Title is the document's title when it has one: an HTML <title>, the
	// first heading, or a short first line of a plain text file.
	Title string

	// Text is the extracted text in the vocabulary the package comment
	// describes: UTF-8, "\n" line ends, never empty.
	Text string

	// Encoding names the character encoding the bytes were read in, for
	// the text formats ("utf-8", "utf-16le", "utf-16be", "windows-1252");
	// empty for binary formats.
	Encoding string
}

// Formats lists the accepted file types, as extensions without the dot.
var Formats = []string{"txt", "md", "json", "jsonl", "csv", "xml", "html", "pdf", "docx"}

// extractors maps a format to its reader. Text formats receive decoded text.
var extractors = map[string]func(data []byte) (*Document, error){
	"txt":      textFormat(extractPlain),
	"md":       textFormat(extractMarkdown),
	"markdown": textFormat(extractMarkdown),
	"json":     textFormat(extractJSON),
	"jsonl":    textFormat(extractJSONL),
	"csv":      textFormat(extractCSV),
	"xml":      textFormat(extractXML),
	"html":     textFormat(extractHTML),
	"htm":      textFormat(extractHTML),
	"pdf":      extractPDF,
	"docx":     extractDOCX,
}

// FormatOf returns the format of a file name: its extension, lower case,
// without the dot.
func FormatOf(filename string) string {
	return strings.TrimPrefix(strings.ToLower(filepath.Ext(filename)), ".")
}

// Supported reports whether files named like filename can be extracted.
func Supported(filename string) bool {
	_, ok := extractors[FormatOf(filename)]
	return ok
}

// Extract reads the text out of a file's bytes; the file name chooses the
// format. It returns a KindInvalid attune.Error naming the file and the
// problem when the type is not accepted, the bytes are not what the name
// says, or no text is left.
func Extract(filename string, data []byte) (*Document, error) {
	format := FormatOf(filename)
	extract, ok := extractors[format]
	if !ok {
		return nil, invalid(filename, "has an unsupported file type %q; accepted types are .%s",
			filepath.Ext(filename), strings.Join(Formats, " ."))
	}
	if len(data) == 0 {
		return nil, invalid(filename, "is empty")
	}

	doc, err := extract(data)
	if err != nil {
		return nil, named(filename, err)
	}
	doc.Format = format
	doc.Text = tidy(doc.Text)
	if strings.TrimSpace(doc.Text) == "" {
		return nil, invalid(filename, "contains no text")
	}
	if doc.Title == "" {
		doc.Title = firstHeading(doc.Text)
	}
	return doc, nil
}

// problem is a reason a file cannot be read, before the file is named.
type problem struct {
	msg string
	err error
}

func (p *problem) Error() string {
	if p.err != nil {
		return p.msg + ": " + p.err.Error()
	}
	return p.msg
}

// unreadable returns a problem whose message completes "file.ext ...".
func unreadable(err error, format string, args ...any) error {
	return &problem{msg: fmt.Sprintf(format, args...), err: err}
}

// named turns a problem into the attune.Error a person reads.
func named(filename string, err error) error {
	p, ok := err.(*problem)
	if !ok {
		return fmt.Errorf("ingest: %s: %w", filename, err)
	}
	e := invalid(filename, "%s", p.msg)
	e.Err = p.err
	return e
}

func invalid(filename, format string, args ...any) *attune.Error {
	e := attune.Invalidf("files", format, args...)
	e.Message = filename + " " + e.Message
	return e
}

// tidy normalises line ends, trims trailing spaces, collapses runs of blank
// lines to one and removes leading and trailing blank lines.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := true
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// firstHeading returns the text of the first "#" heading, or "".
func firstHeading(text string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if level, title := headingOf(line); level > 0 {
			return title
		}
	}
	return ""
}

// headingOf returns the level and text of a Markdown ATX heading line, or
// level 0 when the line is not one.
func headingOf(line string) (int, string) {
	level := 0
	for level < len(line) && line[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || level == len(line) || line[level] != ' ' {
		return 0, ""
	}
	title := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(line[level:]), "#"))
	if title == "" {
		return 0, ""
	}
	return level, title
}
